Feature: Records the AI names by name are looked up, and ConnectWise receives the one found
  The AI names the records a write refers to as a person would: a company by its identifier,
  a technician by their member identifier, a board, status or work type by its name.
  ConnectWise wants their ids. Before every write the integration looks each one up, and
  sends the id it found; if the role cannot read what it would look up, it does not guess,
  and writes nothing.

  Each scenario arranges the records it names, so it runs on a sandbox as on the mock: `the
  AI names company "Globex" by name` is the name the integration would look it up by (a
  company's identifier, a contact's last name, a board's name), and a record read back
  "has the company "Globex"" when it holds that very company, by id. The members are the
  API member the scenario signs in as and another member of the site.

  Each reference every write of the catalog looks up is named here twice: once in a write
  that goes through, with the record read back afterwards, and once with a role that cannot
  read it. (A lib test holds this file to the catalog: a lookup added without both fails
  the build.)

  Rule: RD-04 each reference a write names is looked up, and the record written holds the one found

    @RD-04 @RD-05 @writes
    Scenario: A new ticket names its company, contact, board, status, type, subtype and owner, and holds each one
      Given an API member with the role "full-access"
      And a company "Globex"
      And a contact "Scorpio" with:
        | lastName | Scorpio-Whitley          |
        | company  | {"id": company "Globex"} |
      And a board "Field Service" with:
        | name | Field Service |
      And a board status "Waiting on Client" of board "Field Service" with:
        | name | Waiting on Client |
      And a board type "Service Request" of board "Field Service" with:
        | name | Service Request |
      And a board subtype "Email" of board "Field Service" with:
        | name | Email |
      When the AI asks to create a service ticket with:
        | summary | Label printer offline                    |
        | company | company "Globex" by name                 |
        | contact | contact "Scorpio" by name                |
        | board   | board "Field Service" by name            |
        | status  | board status "Waiting on Client" by name |
        | type    | board type "Service Request" by name     |
        | subType | board subtype "Email" by name            |
        | owner   | another member                           |
      Then the outcome is allowed
      And the ticket just created now has the company "Globex"
      And the ticket just created now has the contact "Scorpio"
      And the ticket just created now has the board "Field Service"
      And the ticket just created now has the status "Waiting on Client"
      And the ticket just created now has the type "Service Request"
      And the ticket just created now has the subType "Email"
      And the ticket just created now has the owner "another member"

    @RD-04 @RD-05 @writes
    Scenario: A ticket changed to another company, contact, status, type, subtype and owner holds each one
      Given an API member with the role "full-access"
      And a company "Globex"
      And a contact "Scorpio" with:
        | lastName | Scorpio-Whitley |
      And a board "Field Service" with:
        | name | Field Service |
      And a board status "Waiting on Client" of board "Field Service"
      And a board type "Incident" of board "Field Service"
      And a board subtype "Printer" of board "Field Service"
      And a service ticket "VPN drops every" owned by the API member with:
        | board   | {"id": board "Field Service"} |
        | status  | null                          |
        | type    | null                          |
        | subType | null                          |
      And ticket "VPN drops every" has the company "Acme"
      And ticket "VPN drops every" has the owner "the API member"
      When the AI asks to update ticket "VPN drops every" with:
        | company | company "Globex" by name                 |
        | contact | contact "Scorpio" by name                |
        | status  | board status "Waiting on Client" by name |
        | type    | board type "Incident" by name            |
        | subType | board subtype "Printer" by name          |
        | owner   | another member                           |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the company "Globex"
      And ticket "VPN drops every" now has the contact "Scorpio"
      And ticket "VPN drops every" now has the status "Waiting on Client"
      And ticket "VPN drops every" now has the type "Incident"
      And ticket "VPN drops every" now has the subType "Printer"
      And ticket "VPN drops every" now has the owner "another member"

    @RD-04 @writes
    Scenario: A ticket moved to another board takes that board's status, type and subtype
      Names repeat across boards (each board here has a "New" status): the status, type and
      subtype are looked up on the board the ticket moves to. (On a sandbox each record's
      name carries the run's mark, so the two names differ there; a lookup on the wrong board
      then finds nothing.)
      Given an API member with the role "full-access"
      And a board "Field Service" with:
        | name | Field Service |
      And a board status "Field Service New" of board "Field Service" with:
        | name | New |
      And a board "Onboarding" with:
        | name | Onboarding |
      And a board status "Onboarding New" of board "Onboarding" with:
        | name | New |
      And a board type "Project Request" of board "Onboarding" with:
        | name | Project Request |
      And a board subtype "Migration" of board "Onboarding" with:
        | name | Migration |
      And a service ticket "VPN drops every" owned by another member with:
        | board   | {"id": board "Field Service"}            |
        | status  | {"id": board status "Field Service New"} |
        | type    | null                                     |
        | subType | null                                     |
      And ticket "VPN drops every" has the board "Field Service"
      When the AI asks to update ticket "VPN drops every" with:
        | board   | board "Onboarding" by name           |
        | status  | board status "Onboarding New" by name |
        | type    | board type "Project Request" by name |
        | subType | board subtype "Migration" by name    |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the board "Onboarding"
      And ticket "VPN drops every" now has the status "Onboarding New"
      And ticket "VPN drops every" now has the type "Project Request"
      And ticket "VPN drops every" now has the subType "Migration"

    @RD-04 @writes
    Scenario: A closed ticket reopened to a status named by name holds that status
      Given an API member with the role "full-access"
      And a board "Field Service" with:
        | name | Field Service |
      And a board status "Closed" of board "Field Service" with:
        | name         | >Closed |
        | closedStatus | true    |
      And a board status "Waiting on Client" of board "Field Service" with:
        | name | Waiting on Client |
      And a service ticket "Email bouncing" with:
        | board      | {"id": board "Field Service"} |
        | status     | {"id": board status "Closed"} |
        | type       | null                          |
        | subType    | null                          |
        | closedFlag | true                          |
      And ticket "Email bouncing" has the status "Closed"
      When the AI asks to reopen ticket "Email bouncing" with:
        | status | board status "Waiting on Client" by name |
      Then the outcome is allowed
      And ticket "Email bouncing" now has the status "Waiting on Client"

    @RD-05 @writes
    Scenario: A ticket reassigned to a technician named by identifier is owned by that technician
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every" owned by the API member
      And ticket "VPN drops every" has the owner "the API member"
      When the AI asks to reassign ticket "VPN drops every" with:
        | owner | another member |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the owner "another member"

    @RD-05 @writes
    Scenario: A reassignment does not read the ticket first, so Service Tickets Edit without Inquire is enough
      Only a status, type or subtype named without its board is looked up on the ticket's
      own board, which needs the ticket read first; an owner is looked up among the members.
      Given an API member whose role grants:
        | function                       | edit | inquire |
        | Service Desk / Service Tickets | All  | None    |
        | System / Member Maintenance    | None | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to reassign ticket "VPN drops every" with:
        | owner | the API member |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the owner "the API member"

    @RD-04 @writes
    Scenario: A device linked to a ticket by its name is the device linked
      Given an API member with the role "full-access"
      And a configuration "Firewall" with:
        | name | GLBX-FW02 |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to add a configuration to ticket "VPN drops every" with:
        | configuration | configuration "Firewall" by name |
      Then the outcome is allowed
      And the ticket configuration just created now has the configuration "Firewall"

    @RD-04 @writes
    Scenario: A contact created at a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      And a company "Initech"
      When the AI asks to create a contact with:
        | firstName | Dana                      |
        | lastName  | Whitley                   |
        | company   | company "Initech" by name |
      Then the outcome is allowed
      And the contact just created now has the company "Initech"

    @RD-04 @writes
    Scenario: A contact moved to a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      And a company "Initech"
      And a contact "Carlos"
      And contact "Carlos" has the company "Umbrella"
      When the AI asks to update contact "Carlos" with:
        | company | company "Initech" by name |
      Then the outcome is allowed
      And contact "Carlos" now has the company "Initech"

    @RD-04 @writes
    Scenario Outline: <A record> created for a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      And a company "Initech"
      When the AI asks to <create> with:
        | company | company "Initech" by name |
        | name    | <name>                    |
        | <field> | <value>                   |
      Then the outcome is allowed
      And the <noun> just created now has the company "Initech"

      Examples:
        | A record        | create                 | noun          | name                   | field | value       |
        | An opportunity  | create an opportunity  | opportunity   | Initech - Backup       | notes | Second site |
        | An activity     | create an activity     | activity      | Call Bill about backup | notes | Thursday    |
        | A configuration | create a configuration | configuration | INIT-FW-02             | type  | {"id": 3}   |

    @RD-04 @writes
    Scenario Outline: <A record> created for a company named by identifier, once confirmed, belongs to that company
      Given an API member with the role "full-access"
      And a company "Initech"
      When the AI asks to <create> with:
        | company  | company "Initech" by name |
        | <field>  | <value>                   |
        | <field2> | <value2>                  |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And the <noun> just created now has the company "Initech"

      Examples:
        | A record     | create              | noun          | field  | value            | field2 | value2               |
        | An expense   | create an expense   | expense entry | amount | 42.0             | date   | 2026-10-05T00:00:00Z |
        | An agreement | create an agreement | agreement     | name   | Initech - Backup | type   | {"id": 1}            |

    @RD-04 @writes
    Scenario: A time entry names its work type and work role, and holds both
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every"
      And a work type "Bench Repair" with:
        | name | Bench Repair |
      And a work role "Dispatcher" with:
        | name | Dispatcher |
      When the AI asks to create a time entry with:
        | chargeToId   | ticket "VPN drops every"        |
        | chargeToType | ServiceTicket                   |
        | timeStart    | 2026-10-05T09:00:00Z            |
        | timeEnd      | 2026-10-05T09:30:00Z            |
        | workType     | work type "Bench Repair" by name |
        | workRole     | work role "Dispatcher" by name  |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And the time entry just created now has the workType "Bench Repair"
      And the time entry just created now has the workRole "Dispatcher"

    @RD-04 @writes
    Scenario: A time entry changed to another work type and work role holds both
      Given an API member with the role "full-access"
      And a work type "Bench Repair" with:
        | name | Bench Repair |
      And a work role "Dispatcher" with:
        | name | Dispatcher |
      And a time entry "Remote session" owned by the API member
      And time entry "Remote session" has the workType "Remote Support"
      And time entry "Remote session" has the workRole "Technician"
      When the AI asks to update time entry "Remote session" with:
        | workType | work type "Bench Repair" by name |
        | workRole | work role "Dispatcher" by name   |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And time entry "Remote session" now has the workType "Bench Repair"
      And time entry "Remote session" now has the workRole "Dispatcher"

    @RD-05 @writes
    Scenario: A technician scheduled by identifier is the member scheduled
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every"
      When the AI asks to schedule a technician with:
        | objectId  | ticket "VPN drops every" |
        | type      | {"id": 4}                |
        | member    | another member           |
        | dateStart | 2026-10-06T15:00:00Z     |
        | dateEnd   | 2026-10-06T16:00:00Z     |
      Then the outcome is allowed
      And the schedule entry just created now has the member "another member"

  Rule: RD-04 a reference the role cannot read stops the write, and nothing is written

    @RD-04 @RD-05
    Scenario Outline: Without <function> Inquire a new ticket naming its <field> is denied, and nothing is written
      Given an API member whose role grants:
        | function                       | add | edit | inquire |
        | Service Desk / Service Tickets | All | All  | All     |
      And a company "Globex"
      And a contact "Scorpio"
      When the AI asks to create a service ticket with:
        | summary | Label printer offline |
        | <field> | <value>               |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write

      Examples:
        | field   | value                     | noun    | function                        |
        | company | company "Globex" by name  | company | Companies / Company Maintenance |
        | contact | contact "Scorpio" by name | contact | Companies / Contacts            |
        | owner   | another member            | member  | System / Member Maintenance     |

    @RD-04
    Scenario Outline: Without Table Setup Inquire a new ticket naming its <field> is denied, and nothing is written
      Follows the newer document for the setup tables (Table Setup Inquire reads them).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                       | add | edit | inquire |
        | Service Desk / Service Tickets | All | All  | All     |
      When the AI asks to create a service ticket with:
        | summary | Label printer offline |
        | board   | <board>               |
        | <field> | <value>               |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write

      Examples:
        | field   | value    | board     | noun            |
        | status  | New      | {"id": 1} | service status  |
        | type    | Incident | {"id": 1} | service type    |
        | subType | Email    | {"id": 1} | service subtype |
        | board   | Help Desk | Help Desk | service board  |

    @RD-04 @RD-05
    Scenario Outline: Without <function> Inquire a change of a ticket's <field> is denied, and the ticket keeps it
      Given an API member whose role grants:
        | function                       | add | edit | inquire |
        | Service Desk / Service Tickets | All | All  | All     |
      And a company "Globex"
      And a contact "Scorpio"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <change> ticket "VPN drops every" with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write
      And ticket "VPN drops every" now has the <field> "<kept>"

      Examples:
        | change   | field   | value                     | noun    | function                        | kept           |
        | update   | company | company "Globex" by name  | company | Companies / Company Maintenance | Acme           |
        | update   | contact | contact "Scorpio" by name | contact | Companies / Contacts            | Bob Roberts    |
        | update   | owner   | the API member            | member  | System / Member Maintenance     | another member |
        | reassign | owner   | the API member            | member  | System / Member Maintenance     | another member |

    @RD-04
    Scenario Outline: Without Table Setup Inquire a change of a ticket's <field> is denied, and the ticket keeps it
      Follows the newer document for the setup tables (Table Setup Inquire reads them).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                       | add | edit | inquire |
        | Service Desk / Service Tickets | All | All  | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <change> ticket "VPN drops every" with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write
      And ticket "VPN drops every" now has the <field> "<kept>"

      Examples:
        | change | field   | value             | noun            | kept        |
        | update | board   | Alerts            | service board   | Help Desk   |
        | update | status  | Waiting on Client | service status  | In Progress |
        | reopen | status  | Waiting on Client | service status  | In Progress |
        | update | type    | Incident          | service type    | Problem     |
        | update | subType | Printer           | service subtype | Network     |

    @RD-04
    Scenario Outline: Without Company Maintenance Inquire <a record> for a company named by identifier is denied, and nothing is written
      Given an API member whose role grants:
        | function   | add | edit | inquire |
        | <function> | All | All  | All     |
      And a company "Initech"
      And a contact "Carlos"
      When the AI asks to <request> with:
        | company | company "Initech" by name |
      Then the outcome is denied
      And the AI is told "cannot check the company"
      And the AI is told it needs "Companies / Company Maintenance" Inquire
      And ConnectWise received no write

      Examples:
        | a record          | request                 | function                              |
        | a new contact     | create a contact        | Companies / Contacts                  |
        | a contact's move  | update contact "Carlos" | Companies / Contacts                  |
        | a new expense     | create an expense       | Time & Expense / Expense Report Entry |
        | a new agreement   | create an agreement     | Finance / Agreements                  |
        | a new opportunity | create an opportunity   | Sales / Opportunity                   |
        | a new activity    | create an activity      | Companies / CRM/Sales Activities      |
        | a new device      | create a configuration  | Companies / Configurations            |

    @RD-04
    Scenario Outline: Without Table Setup Inquire a time entry naming its <field> is denied, and nothing is written
      Follows the newer document for the setup tables (Table Setup Inquire reads them).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      And a time entry "Remote session" owned by the API member
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write

      Examples:
        | request                            | field    | value           | noun      |
        | create a time entry                | workType | Travel          | work type |
        | create a time entry                | workRole | Project Manager | work role |
        | update time entry "Remote session" | workType | Travel          | work type |
        | update time entry "Remote session" | workRole | Project Manager | work role |

    @RD-04 @RD-05
    Scenario Outline: Without <function> Inquire <a request> naming its <field> is denied, and nothing is written
      Given an API member whose role grants:
        | function  | add | edit | inquire |
        | <granted> | All | All  | All     |
      And a configuration "Firewall" with:
        | name | GLBX-FW02 |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write

      Examples:
        | a request        | request                                         | field         | value                            | noun          | granted                                     | function                    |
        | scheduling       | schedule a technician                           | member        | another member                   | member        | Service Desk / Resource Scheduling          | System / Member Maintenance |
        | linking a device | add a configuration to ticket "VPN drops every" | configuration | configuration "Firewall" by name | configuration | Service Desk / Service Ticket - Dependencies | Companies / Configurations  |

  Rule: RD-04 a write that does not say which record it is about is refused before anything is sent

    @RD-04
    Scenario Outline: Asking to <request> without saying which ticket is refused, and nothing is sent
      Given an API member with the role "full-access"
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is rejected
      And the AI is told "I need a record number"
      And ConnectWise received no request for it

      Examples:
        | request              | field   | value                      |
        | update ticket        | summary | VPN drops every 10 minutes |
        | add a task to ticket | notes   | Check the VPN logs         |

  Rule: RD-01 companies are matched by identifier, which no two companies share

    @RD-01 @writes
    Scenario: Giving a company the identifier of another fails, and the AI is told ConnectWise's reason
      Given an API member with the role "full-access"
      And a company "Acme"
      And a company "Globex"
      When the AI asks to update company "Acme" with:
        | identifier | company "Globex" by name |
      Then the outcome is failed
      And the AI is told "update company"
      And the AI is told "already in use"
      And ConnectWise received one PATCH request, answered 400
      And nothing was written to ConnectWise
