Feature: Records the AI names by name are looked up, and ConnectWise receives the one found
  The AI names the records a write refers to as a person would: the company "Globex", the
  technician "ldavis", the board "Help Desk", the work type "Travel". ConnectWise wants
  their ids. Before every write the integration looks each one up, and sends the id it
  found; if the role cannot read what it would look up, it does not guess, and writes
  nothing.

  Each reference every write of the catalog looks up is named here twice: once in a write
  that goes through, with the record read back afterwards, and once with a role that cannot
  read it. (A lib test holds this file to the catalog: a lookup added without both fails
  the build.)

  Rule: RD-04 each reference a write names is looked up, and the record written holds the one found

    @RD-04 @RD-05 @writes @mock-only
    Scenario: A new ticket names its company, contact, board, status, type, subtype and owner, and holds each one
      Given an API member with the role "full-access"
      When the AI asks to create a service ticket with:
        | summary | Label printer offline  |
        | company | Globex                 |
        | contact | Scorpio                |
        | board   | Help Desk              |
        | status  | Waiting on Client      |
        | type    | Service Request        |
        | subType | Email                  |
        | owner   | ldavis                 |
      Then the outcome is allowed
      And the ticket just created now has the company "Globex"
      And the ticket just created now has the contact "Hank Scorpio"
      And the ticket just created now has the board "Help Desk"
      And the ticket just created now has the status "Waiting on Client"
      And the ticket just created now has the type "Service Request"
      And the ticket just created now has the subType "Email"
      And the ticket just created now has the owner "ldavis"

    @RD-04 @RD-05 @writes @mock-only
    Scenario: A ticket changed to another company, contact, status, type, subtype and owner holds each one
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every" owned by another member
      And ticket "VPN drops every" has the company "Acme"
      And ticket "VPN drops every" has the owner "jsmith"
      When the AI asks to update ticket "VPN drops every" with:
        | company | Globex            |
        | contact | Scorpio           |
        | status  | Waiting on Client |
        | type    | Incident          |
        | subType | Printer           |
        | owner   | ldavis            |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the company "Globex"
      And ticket "VPN drops every" now has the contact "Hank Scorpio"
      And ticket "VPN drops every" now has the status "Waiting on Client"
      And ticket "VPN drops every" now has the type "Incident"
      And ticket "VPN drops every" now has the subType "Printer"
      And ticket "VPN drops every" now has the owner "ldavis"

    @RD-04 @writes @mock-only
    Scenario: A ticket moved to another board takes that board's status, type and subtype
      Names repeat across boards (every board has a "New" status): the status, type and subtype are
      looked up on the board the ticket moves to.
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every" owned by another member
      And ticket "VPN drops every" has the board "Help Desk"
      When the AI asks to update ticket "VPN drops every" with:
        | board   | Projects Intake |
        | status  | New             |
        | type    | Project Request |
        | subType | Migration       |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the board "Projects Intake"
      And ticket "VPN drops every" now has the status "New"
      And ticket "VPN drops every" now has the type "Project Request"
      And ticket "VPN drops every" now has the subType "Migration"

    @RD-04 @writes @mock-only
    Scenario: A closed ticket reopened to a status named by name holds that status
      Given an API member with the role "full-access"
      And a service ticket "Email bouncing" with:
        | status     | {"id": 5, "name": ">Closed"} |
        | closedFlag | true                         |
      And ticket "Email bouncing" has the status ">Closed"
      When the AI asks to reopen ticket "Email bouncing" with:
        | status | Waiting on Client |
      Then the outcome is allowed
      And ticket "Email bouncing" now has the status "Waiting on Client"

    @RD-05 @writes @mock-only
    Scenario: A ticket reassigned to a technician named by identifier is owned by that technician
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every" owned by another member
      And ticket "VPN drops every" has the owner "jsmith"
      When the AI asks to reassign ticket "VPN drops every" with:
        | owner | mchen |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the owner "mchen"

    @RD-05 @writes @mock-only
    Scenario: A reassignment does not read the ticket first, so Service Tickets Edit without Inquire is enough
      Only a status, type or subtype named without its board is looked up on the ticket's
      own board, which needs the ticket read first; an owner is looked up among the members.
      Given an API member whose role grants:
        | function                       | edit | inquire |
        | Service Desk / Service Tickets | All  | None    |
        | System / Member Maintenance    | None | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to reassign ticket "VPN drops every" with:
        | owner | mchen |
      Then the outcome is allowed
      And ticket "VPN drops every" now has the owner "mchen"

    @RD-04 @writes @mock-only
    Scenario: A device linked to a ticket by its name is the device linked
      Given an API member with the role "full-access"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to add a configuration to ticket "VPN drops every" with:
        | configuration | GLBX-FW01 |
      Then the outcome is allowed
      And the ticket configuration just created now has the configuration "GLBX-FW01"

    @RD-04 @writes @mock-only
    Scenario: A contact created at a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      When the AI asks to create a contact with:
        | firstName | Dana    |
        | lastName  | Whitley |
        | company   | Initech |
      Then the outcome is allowed
      And the contact just created now has the company "Initech"

    @RD-04 @writes @mock-only
    Scenario: A contact moved to a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      And a contact "Carlos"
      And contact "Carlos" has the company "Umbrella"
      When the AI asks to update contact "Carlos" with:
        | company | Initech |
      Then the outcome is allowed
      And contact "Carlos" now has the company "Initech"

    @RD-04 @writes @mock-only
    Scenario Outline: <A record> created for a company named by identifier belongs to that company
      Given an API member with the role "full-access"
      When the AI asks to <create> with:
        | company | Initech  |
        | name    | <name>   |
        | <field> | <value>  |
      Then the outcome is allowed
      And the <noun> just created now has the company "Initech"

      Examples:
        | A record        | create                 | noun          | name                   | field | value       |
        | An opportunity  | create an opportunity  | opportunity   | Initech - Backup       | notes | Second site |
        | An activity     | create an activity     | activity      | Call Bill about backup | notes | Thursday    |
        | A configuration | create a configuration | configuration | INIT-FW-02             | type  | {"id": 3}   |

    @RD-04 @writes @mock-only
    Scenario Outline: <A record> created for a company named by identifier, once confirmed, belongs to that company
      Given an API member with the role "full-access"
      When the AI asks to <create> with:
        | company  | Initech  |
        | <field>  | <value>  |
        | <field2> | <value2> |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And the <noun> just created now has the company "Initech"

      Examples:
        | A record     | create              | noun          | field  | value            | field2 | value2               |
        | An expense   | create an expense   | expense entry | amount | 42.0             | date   | 2026-10-05T00:00:00Z |
        | An agreement | create an agreement | agreement     | name   | Initech - Backup | type   | {"id": 1}            |

    @RD-04 @writes @mock-only
    Scenario: A time entry names its work type and work role, and holds both
      Given an API member with the role "full-access"
      When the AI asks to create a time entry with:
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | timeStart    | 2026-10-05T09:00:00Z |
        | timeEnd      | 2026-10-05T09:30:00Z |
        | workType     | Onsite Support       |
        | workRole     | Senior Engineer      |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And the time entry just created now has the workType "Onsite Support"
      And the time entry just created now has the workRole "Senior Engineer"

    @RD-04 @writes @mock-only
    Scenario: A time entry changed to another work type and work role holds both
      Given an API member with the role "full-access"
      And a time entry "Remote session" owned by the API member
      And time entry "Remote session" has the workType "Remote Support"
      And time entry "Remote session" has the workRole "Technician"
      When the AI asks to update time entry "Remote session" with:
        | workType | Travel          |
        | workRole | Project Manager |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And time entry "Remote session" now has the workType "Travel"
      And time entry "Remote session" now has the workRole "Project Manager"

    @RD-05 @writes @mock-only
    Scenario: A technician scheduled by identifier is the member scheduled
      Given an API member with the role "full-access"
      When the AI asks to schedule a technician with:
        | objectId  | 1004                 |
        | type      | {"id": 4}            |
        | member    | mchen                |
        | dateStart | 2026-10-06T15:00:00Z |
        | dateEnd   | 2026-10-06T16:00:00Z |
      Then the outcome is allowed
      And the schedule entry just created now has the member "mchen"

  Rule: RD-04 a reference the role cannot read stops the write, and nothing is written

    @RD-04 @RD-05 @mock-only
    Scenario Outline: Without <function> Inquire a new ticket naming its <field> is denied, and nothing is written
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
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write

      Examples:
        | field   | value         | board       | noun           | function                        |
        | company | Globex        | {"id": 1}   | company        | Companies / Company Maintenance |
        | contact | Scorpio       | {"id": 1}   | contact        | Companies / Contacts            |
        | owner   | ldavis        | {"id": 1}   | member         | System / Member Maintenance     |
        | status  | New           | {"id": 1}   | service status | System / Table Setup            |
        | type    | Incident      | {"id": 1}   | service type   | System / Table Setup            |
        | subType | Email         | {"id": 1}   | service subtype | System / Table Setup           |
        | board   | Help Desk     | Help Desk   | service board  | System / Table Setup            |

    @RD-04 @RD-05 @mock-only
    Scenario Outline: Without <function> Inquire a change of a ticket's <field> is denied, and the ticket keeps it
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
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write
      And ticket "VPN drops every" now has the <field> "<kept>"

      Examples:
        | change   | field   | value             | noun            | function                        | kept        |
        | update   | company | Globex            | company         | Companies / Company Maintenance | Acme        |
        | update   | contact | Scorpio           | contact         | Companies / Contacts            | Bob Roberts |
        | update   | owner   | ldavis            | member          | System / Member Maintenance     | jsmith      |
        | reassign | owner   | ldavis            | member          | System / Member Maintenance     | jsmith      |
        | update   | board   | Alerts            | service board   | System / Table Setup            | Help Desk   |
        | update   | status  | Waiting on Client | service status  | System / Table Setup            | In Progress |
        | reopen   | status  | Waiting on Client | service status  | System / Table Setup            | In Progress |
        | update   | type    | Incident          | service type    | System / Table Setup            | Problem     |
        | update   | subType | Printer           | service subtype | System / Table Setup            | Network     |

    @RD-04 @mock-only
    Scenario Outline: Without Company Maintenance Inquire <a record> for a company named by identifier is denied, and nothing is written
      Given an API member whose role grants:
        | function   | add | edit | inquire |
        | <function> | All | All  | All     |
      And a contact "Carlos"
      When the AI asks to <request> with:
        | company | Initech |
      Then the outcome is denied
      And the AI is told "cannot check the company"
      And the AI is told it needs "Companies / Company Maintenance" Inquire
      And ConnectWise received no write

      Examples:
        | a record          | request                | function                        |
        | a new contact     | create a contact       | Companies / Contacts            |
        | a contact's move  | update contact "Carlos" | Companies / Contacts           |
        | a new expense     | create an expense      | Time & Expense / Expense Report Entry |
        | a new agreement   | create an agreement    | Finance / Agreements            |
        | a new opportunity | create an opportunity  | Sales / Opportunity             |
        | a new activity    | create an activity     | Companies / CRM/Sales Activities |
        | a new device      | create a configuration | Companies / Configurations      |

    @RD-04 @mock-only
    Scenario Outline: Without Table Setup Inquire a time entry naming its <field> is denied, and nothing is written
      Follows the newer document for the setup tables (Table Setup Inquire reads them).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                  | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      And a time entry "Remote session" owned by the API member
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write

      Examples:
        | request                          | field    | value           | noun      |
        | create a time entry              | workType | Travel          | work type |
        | create a time entry              | workRole | Project Manager | work role |
        | update time entry "Remote session" | workType | Travel        | work type |
        | update time entry "Remote session" | workRole | Project Manager | work role |

    @RD-04 @RD-05 @mock-only
    Scenario Outline: Without <function> Inquire <a request> naming its <field> is denied, and nothing is written
      Given an API member whose role grants:
        | function   | add | edit | inquire |
        | <granted>  | All | All  | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told "cannot check the <noun>"
      And the AI is told it needs "<function>" Inquire
      And ConnectWise received no write

      Examples:
        | a request          | request                                      | field         | value     | noun          | granted                                      | function                    |
        | scheduling         | schedule a technician                        | member        | mchen     | member        | Service Desk / Resource Scheduling           | System / Member Maintenance |
        | linking a device   | add a configuration to ticket "VPN drops every" | configuration | GLBX-FW01 | configuration | Service Desk / Service Ticket - Dependencies | Companies / Configurations  |

  Rule: RD-04 a write that does not say which record it is about is refused before anything is sent

    @RD-04 @mock-only
    Scenario Outline: Asking to <request> without saying which ticket is refused, and nothing is sent
      Given an API member with the role "full-access"
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is rejected
      And the AI is told "I need a record number"
      And ConnectWise received no request for it

      Examples:
        | request               | field   | value                      |
        | update ticket         | summary | VPN drops every 10 minutes |
        | add a task to ticket  | notes   | Check the VPN logs         |

  Rule: RD-01 companies are matched by identifier, which no two companies share

    @RD-01 @mock-only
    Scenario: Giving a company the identifier of another fails, and the AI is told ConnectWise's reason
      Given an API member with the role "full-access"
      And a company "Acme"
      When the AI asks to update company "Acme" with:
        | identifier | Globex |
      Then the outcome is failed
      And the AI is told "update company"
      And the AI is told "identifier Globex already in use"
      And ConnectWise received one PATCH request, answered 400
      And nothing was written to ConnectWise
