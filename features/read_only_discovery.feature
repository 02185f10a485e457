Feature: Read-only discovery and lookup
  The first permissions an MSP grants are read-only: company and contact lookup, tickets,
  and the service-desk setup tables. With them the AI can find customers and tickets; it
  can change nothing.

  Rule: RD-01 company lookup needs Company Maintenance Inquire

    @RD-01
    Scenario: Company lookup finds a customer by name
      Given an API member with the role "read-only-discovery"
      And a company "Acme Corporation"
      When the AI asks to search companies "Acme"
      Then the outcome is allowed
      And the result includes the company "Acme Corporation"

    @RD-01
    Scenario: Without Company Maintenance Inquire company lookup is denied
      Given an API member whose role grants:
        | function             | inquire |
        | Companies / Contacts | All     |
      When the AI asks to search companies "Acme"
      Then the outcome is denied
      And the AI is told it needs "Companies / Company Maintenance" Inquire

  Rule: RD-02 contact lookup needs Contacts Inquire

    @RD-02
    Scenario: Contact lookup finds a contact by last name
      Given an API member with the role "read-only-discovery"
      And a contact "Gibbons" with:
        | firstName | Peter   |
        | lastName  | Gibbons |
      When the AI asks to search contacts "Gibbons"
      Then the outcome is allowed
      And the result includes the contact "Gibbons"

    @RD-02
    Scenario: Without Contacts Inquire contact lookup is denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
      When the AI asks to search contacts "Gibbons"
      Then the outcome is denied
      And the AI is told it has no access

  Rule: RD-03 Service Tickets Inquire My shows only the member's tickets; All shows every ticket

    @RD-03 @OV-02
    Scenario: With Inquire My the AI sees only tickets the member owns or is assigned to
      Given an API member whose role grants:
        | function                       | inquire |
        | Service Desk / Service Tickets | My      |
      And a service ticket "Printer jams" owned by the API member
      And a service ticket "VPN drops" owned by another member
      When the AI asks to list service tickets
      Then the outcome is allowed
      And the result includes the ticket "Printer jams"
      And the result does not include the ticket "VPN drops"

    @RD-03 @OV-02
    Scenario: With Inquire My a ticket of another member is denied
      Given an API member whose role grants:
        | function                       | inquire |
        | Service Desk / Service Tickets | My      |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to get ticket "VPN drops every"
      Then the outcome is denied

    @RD-03 @OV-02
    Scenario: With Inquire All the AI sees every ticket
      Given an API member with the role "read-only-discovery"
      And a service ticket "Printer jams" owned by the API member
      And a service ticket "VPN drops" owned by another member
      When the AI asks to list service tickets
      Then the outcome is allowed
      And the result includes the ticket "Printer jams"
      And the result includes the ticket "VPN drops"

  Rule: OV-03 customer sync needs only read access to companies and contacts

    @OV-03
    Scenario: The customer-sync import reads companies and contacts
      Given an API member with the role "customer-sync"
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed
      When the AI asks to search contacts "Doe"
      Then the outcome is allowed
      And ConnectWise received no write

    @OV-03
    Scenario Outline: The customer-sync search follows page after page of <records>, however small the pages
      ConnectWise gives at most 1,000 records a page; a search that asks for smaller pages
      must follow them all. Twelve records at five a page take three pages.
      Given an API member with the role "customer-sync"
      And 12 <records> "Paged", more than fit on a page of 5
      When the AI asks to search <records> "Paged" with:
        | pageSize | 5 |
      Then the outcome is allowed
      And the result includes each of the <records> "Paged", once
      And ConnectWise was asked for page after page of the <records>, at most 5 a page
      And ConnectWise received no write

      Examples:
        | records   |
        | companies |
        | contacts  |

    @OV-03
    Scenario: A search asking for larger pages than ConnectWise gives is rejected before anything is asked
      Given an API member with the role "customer-sync"
      When the AI asks to search contacts "Doe" with:
        | pageSize | 5000 |
      Then the outcome is rejected
      And the AI is told "from 1 to 1000"
      And ConnectWise received no request for it

    @OV-03 @mock-only
    Scenario Outline: The customer-sync import brings in every <record>, however many pages it takes
      Given an API member with the role "customer-sync"
      And ConnectWise holds 1,200 <records>, more than fit on one page
      When the AI asks to import every <record>
      Then the outcome is allowed
      And the result lists 1,200 records
      And the result includes every <record> ConnectWise holds
      And ConnectWise received no write

      Examples:
        | record  | records   |
        | company | companies |
        | contact | contacts  |

    @OV-03 @mock-only
    Scenario Outline: The customer-sync import asks for every page of <records>, none larger than ConnectWise gives
      Given an API member with the role "customer-sync"
      And ConnectWise holds 2,500 <records>, more than fit on one page
      When the AI asks to import every <record>
      Then the outcome is allowed
      And ConnectWise was asked for every page of the <records>, at most 1,000 a page

      Examples:
        | record  | records   |
        | company | companies |
        | contact | contacts  |

    @OV-03
    Scenario: Page 0, where ConnectWise serves it as the first page, is the first page
      ConnectWise numbers pages from 1 and does not say what page 0 gets; connectwise-rest
      starts its paging there. The mock's default serves it as the first page, so a client
      counting from 0 reads the first page twice.
      Given ConnectWise serves page 0 as the first page
      And an API member with the role "customer-sync"
      And 26 companies "Paged", more than fit on a page of 25
      Then a client asking for page 0 of the companies gets the first page

    @OV-03
    Scenario: Page 0, where ConnectWise refuses it, is a bad request
      Given ConnectWise refuses page 0
      And an API member with the role "customer-sync"
      And 26 companies "Paged", more than fit on a page of 25
      Then a client asking for page 0 of the companies is refused with 400, naming the page

    @OV-03
    Scenario Outline: With the customer-sync role every write is denied
      Given an API member with the role "customer-sync"
      And a company "Acme"
      And a contact "Carlos"
      When the AI asks to <write> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told it has no access

      Examples:
        | write                   | field     | value        |
        | create a contact        | firstName | Sam          |
        | update company "Acme"   | name      | Acme Renamed |
        | update contact "Carlos" | title     | CTO          |

    @OV-03
    Scenario: With the customer-sync role no write of the catalog goes through, deletes included
      Given an API member with the role "customer-sync"
      Then every write in the catalog is denied or blocked
      And nothing was written to ConnectWise

  Rule: CL-02 start read-only: every lookup works and every write is denied

    @CL-02
    Scenario Outline: The read-only discovery role passes each lookup
      Given an API member with the role "read-only-discovery"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <lookup>
      Then the outcome is allowed
      And ConnectWise received no write

      Examples:
        | lookup                    |
        | search companies "Globex" |
        | search contacts "Doe"     |
        | list service tickets      |
        | get ticket "VPN drops every"          |
        | search members "jsmith"   |

    @CL-02
    Scenario Outline: The read-only discovery role has every write denied
      Given an API member with the role "read-only-discovery"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <write> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told it has no access

      Examples:
        | write                                | field     | value            |
        | create a service ticket              | summary   | Cannot print     |
        | update ticket "VPN drops every"                  | summary   | VPN fixed        |
        | close ticket "VPN drops every"                   | status    | >Closed          |
        | add an internal note to ticket "VPN drops every" | text      | Checked the logs |
        | create a contact                     | firstName | Sam              |

    @CL-02
    Scenario: With the read-only discovery role no write of the catalog goes through, deletes included
      Given an API member with the role "read-only-discovery"
      Then every write in the catalog is denied or blocked
      And nothing was written to ConnectWise
