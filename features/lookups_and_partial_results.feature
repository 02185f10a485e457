Feature: Checking ticket fields, finding technicians, and partial results
  Before the AI opens or changes a ticket, the integration looks up the board, status, type
  and subtype it names in ConnectWise's setup tables, so a typo is caught before anything is
  written. If the role cannot read those setup tables (System / Table Setup Inquire), the
  integration cannot check the fields and does not guess: the request is denied, the AI is
  told which read permission is missing, and nothing is written.

  When the AI reads a ticket, the integration also reads the records it points to (the
  company, the owner, the board and the status); if the role does not allow one of those
  reads, the AI still gets the ticket, and is told which details are missing and why.

  Rule: RD-04 boards, statuses, types and subtypes are checked before a ticket is written

    Background:
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Service Desk / Service Tickets  | All  | All  | None   | All     |
        | System / Table Setup            | None | None | None   | All     |
        | System / Member Maintenance     | None | None | None   | All     |

    @RD-04 @writes
    Scenario: A ticket whose board, status, type and subtype exist is created
      When the AI asks to create a service ticket with:
        | summary | Printer jammed on tray 2 |
        | company | Acme                     |
        | board   | Help Desk                |
        | status  | New                      |
        | type    | Incident                 |
        | subType | Printer                  |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @RD-04
    Scenario Outline: A new ticket with <what> is rejected before anything is written
      When the AI asks to create a service ticket with:
        | summary | Printer jammed on tray 2 |
        | company | Acme                     |
        | board   | <board>                  |
        | status  | <status>                 |
        | type    | <type>                   |
        | subType | <subtype>                |
      Then the outcome is rejected
      And the AI is told "There is no <noun>"
      And the AI is told "<unknown>"
      And the result cites rule RD-04
      And ConnectWise received no write

      Examples:
        | what                      | board       | status    | type     | subtype  | noun            | unknown     |
        | an unknown board          | Night Shift | New       | Incident | Printer  | service board   | Night Shift |
        | an unknown status         | Help Desk   | Parked    | Incident | Printer  | service status  | Parked      |
        | a status of another board | Help Desk   | Completed | Incident | Printer  | service status  | Completed   |
        | an unknown type           | Help Desk   | New       | Outage   | Printer  | service type    | Outage      |
        | an unknown subtype        | Help Desk   | New       | Incident | Plumbing | service subtype | Plumbing    |

    @RD-04
    Scenario Outline: Changing a ticket to <what> is rejected, and the ticket keeps its <field>
      Given a service ticket "VPN drops every" owned by another member
      When the AI asks to update ticket "VPN drops every" with:
        | <field> | <value> |
      Then the outcome is rejected
      And the AI is told "There is no <noun>"
      And the AI is told "<value>"
      And ConnectWise received no write
      And ticket "VPN drops every" now has the <field> "<kept>"

      Examples:
        | what               | field   | value       | noun            | kept        |
        | an unknown board   | board   | Night Shift | service board   | Help Desk   |
        | an unknown status  | status  | Parked      | service status  | In Progress |
        | an unknown type    | type    | Outage      | service type    | Problem     |
        | an unknown subtype | subType | Plumbing    | service subtype | Network     |

    @RD-04 @writes
    Scenario: Without Table Setup the board, status and type are still checked, as the developer guide says
      Follows the developer guide (the default): setup tables answer at inquiry level
      without Table Setup.
      Given ConnectWise lets setup tables be read without Table Setup
      And an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Service Desk / Service Tickets  | All  | All  | None   | All     |
      When the AI asks to create a service ticket with:
        | summary | Printer jammed on tray 2 |
        | company | Acme                     |
        | board   | Help Desk                |
        | status  | New                      |
        | type    | Incident                 |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @RD-04
    Scenario: With Service Desk rights only required, the board's statuses cannot be checked without them
      Follows the report that a board-status 403 came from missing Service Desk rights.
      Given ConnectWise lets setup tables be read with Service Desk rights only
      And an API member whose role grants:
        | function             | inquire |
        | System / Table Setup | All     |
      And a board "Help Desk"
      When the AI asks to list the statuses of board "Help Desk"
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Tickets" Inquire

    @RD-04
    Scenario: Without Table Setup Inquire the board cannot be checked, so the new ticket is denied and nothing is written
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Service Desk / Service Tickets  | All  | All  | None   | All     |
      When the AI asks to create a service ticket with:
        | summary | Printer jammed on tray 2 |
        | company | Acme                     |
        | board   | Help Desk                |
        | status  | New                      |
        | type    | Incident                 |
      Then the outcome is denied
      And the AI is told "cannot check the service board"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write

    @RD-04
    Scenario: Without Table Setup Inquire a change of status cannot be checked, so it is denied and nothing is written
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | None   | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to update ticket "VPN drops every" with:
        | status | Waiting on Client |
      Then the outcome is denied
      And the AI is told "cannot check the service status"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write
      And ticket "VPN drops every" now has the status "In Progress"

    @RD-04
    Scenario: A change of status to a ticket that does not exist fails as not found, not as a refusal
      A status is looked up on the ticket's own board, so the ticket is read first; that it
      does not exist is what the AI is told, not that a permission is missing.
      Given a service ticket "Gone" that ConnectWise does not hold
      When the AI asks to update ticket "Gone" with:
        | status | Waiting on Client |
      Then the outcome is failed
      And the AI is told "not found"
      And ConnectWise received no write

    @RD-04
    Scenario: A new ticket on a board given by an id that does not exist fails as not found, not as a refusal
      Given a board "Gone" that ConnectWise does not hold
      When the AI asks to create a service ticket with:
        | summary | Printer jammed on tray 2 |
        | company | Acme                     |
        | board   | {"id": board "Gone"}     |
        | status  | New                      |
      Then the outcome is failed
      And the AI is told "not found"
      And ConnectWise received no write

    @RD-04 @writes
    Scenario Outline: A status given as <given> is checked, and the ticket takes it
      Given a service ticket "VPN"
      When the AI asks to update ticket "VPN" with:
        | status | <status> |
      Then the outcome is allowed
      And ticket "VPN" now has the status "Waiting on Client"

      Examples:
        | given            | status                        |
        | its id           | {"id": 3}                     |
        | an object naming | {"name": "Waiting on Client"} |

    @RD-04
    Scenario: A status given as an object naming a status that does not exist is rejected before anything is written
      Given a service ticket "VPN"
      When the AI asks to update ticket "VPN" with:
        | status | {"name": "Parked"} |
      Then the outcome is rejected
      And the AI is told "There is no service status"
      And the AI is told "Parked"
      And ConnectWise received no write
      And ticket "VPN" now has the status "In Progress"

  Rule: RD-05 Member Maintenance Inquire lets the AI find technicians, owners and assignees

    @RD-05
    Scenario: With Member Maintenance Inquire the AI finds a technician
      Given an API member with the role "read-only-discovery"
      When the AI asks to search members "another member"
      Then the outcome is allowed
      And the result includes the member "another member"
      And the result does not include the member "the API member"

    @RD-05
    Scenario: Without Member Maintenance Inquire the technician search is denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Service Desk / Service Tickets  | All     |
        | System / Table Setup            | All     |
      When the AI asks to search members "jsmith"
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "System / Member Maintenance" Inquire

    @RD-05
    Scenario: Without Member Maintenance Inquire a ticket is read without its owner
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Service Desk / Service Tickets  | All     |
        | System / Table Setup            | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to get ticket "VPN drops every"
      Then the outcome is partial
      And the result includes the ticket "VPN drops every"
      And the result names the missing fields "owner"

    @RD-05 @writes
    Scenario: With Member Maintenance Inquire the AI assigns a ticket to a technician
      Given an API member whose role grants:
        | function                       | add  | edit | inquire |
        | Service Desk / Service Tickets | None | All  | All     |
        | System / Member Maintenance    | None | None | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to update ticket "VPN drops every" with:
        | owner | ldavis |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the owner "ldavis"

    @RD-05
    Scenario: Without Member Maintenance Inquire the assignee cannot be checked, so the assignment is denied
      Given an API member whose role grants:
        | function                       | add  | edit | inquire |
        | Service Desk / Service Tickets | None | All  | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to update ticket "VPN drops every" with:
        | owner | the API member |
      Then the outcome is denied
      And the AI is told it needs "System / Member Maintenance" Inquire
      And ConnectWise received no write
      And ticket "VPN drops every" now has the owner "another member"

  Rule: TS-04 refused related lookups give a partial result that names the missing fields

    @TS-04
    Scenario: With Service Tickets Inquire alone, a ticket is read without its company, owner, board and status
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                       | inquire |
        | Service Desk / Service Tickets | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to get ticket "VPN drops every"
      Then the outcome is partial
      And the result includes the ticket "VPN drops every"
      And the result names the missing fields "company, owner, board, status"
      And the AI is told "Grant read access to those records"

    @TS-04
    Scenario Outline: Without <withheld> Inquire, a ticket is read without its <missing>
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                       | inquire |
        | Service Desk / Service Tickets | All     |
      And the role also grants "<granted>" Inquire All
      And the role also grants "<also granted>" Inquire All
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to get ticket "VPN drops every"
      Then the outcome is partial
      And the result includes the ticket "VPN drops every"
      And the result names the missing fields "<missing>"

      Examples:
        | withheld                        | granted                         | also granted                | missing       |
        | Companies / Company Maintenance | System / Member Maintenance     | System / Table Setup        | company       |
        | System / Member Maintenance     | Companies / Company Maintenance | System / Table Setup        | owner         |
        | System / Table Setup            | Companies / Company Maintenance | System / Member Maintenance | board, status |

    @TS-04
    Scenario: With every related read allowed, the ticket is read in full
      Given an API member with the role "read-only-discovery"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to get ticket "VPN drops every"
      Then the outcome is allowed
      And the result includes the ticket "VPN drops every"

    @TS-04
    Scenario Outline: Without Company Maintenance Inquire, <record> is read without its company
      Given an API member whose role grants:
        | function   | inquire |
        | <function> | All     |
      And an agreement "Acme - Managed Services"
      And a project "Initech File Server Migration"
      When the AI asks to get <record>
      Then the outcome is partial
      And the result includes the <kind> "<name>"
      And the result names the missing fields "company"

      Examples:
        | record                                  | function                  | kind      | name                          |
        | agreement "Acme - Managed Services"     | Finance / Agreements      | agreement | Acme - Managed Services       |
        | project "Initech File Server Migration" | Project / Project Headers | project   | Initech File Server Migration |
