Feature: The recommended least-privilege role
  The older document recommends a security role of 15 rows. Each row grants Add, Edit,
  Delete and Inquire at a level; each cell must decide what the integration's actions
  can do: All allows every record, My only the member's own, None nothing. Each cell an
  action can exercise is checked by behaviour, through the integration: the action runs
  on a fresh ConnectWise with the role as it is and again with only that cell flipped,
  and it must succeed where the cell allows it and be denied where it does not. A
  field-guarded cell (Billing View Time, Time Entry Billable Option, Member Maintenance -
  Finance) decides whether the guarded fields show, or may be written.

  Some cells only make sense together, and the table intends them so: Service Tickets is
  Add only, so a ticket can be opened but not read back or edited; Close Service Tickets
  Edit closes a ticket without Service Tickets Edit; Merge Tickets is All; Service Ticket -
  Dependencies is Add only; the time-entry rows delete only the member's own entries.

  Rule: LP-02 each row gives the documented result for each operation

    @LP-02
    Scenario Outline: <module> / <function>: Add <add>, Edit <edit>, Delete <delete>, Inquire <inquire>
      Given an API member with the role "least-privilege"
      Then ConnectWise reports "<module> / <function>" as Add <add>, Edit <edit>, Delete <delete> and Inquire <inquire>
      And the integration's actions find "<module> / <function>" to be Add <add>, Edit <edit>, Delete <delete> and Inquire <inquire>

      Examples:
        | module         | function                      | add  | edit | delete | inquire |
        | Companies      | Configurations                | All  | All  | None   | All     |
        | Companies      | Contacts                      | All  | All  | All    | All     |
        | Companies      | Manage Attachments            | All  | All  | All    | All     |
        | Companies      | Team Members                  | None | None | None   | All     |
        | Finance        | Agreements                    | None | None | None   | All     |
        | Finance        | Billing View Time             | None | All  | None   | All     |
        | Service Desk   | Close Service Tickets         | None | All  | None   | All     |
        | Service Desk   | Merge Tickets                 | All  | All  | All    | All     |
        | Service Desk   | Service Ticket - Dependencies | All  | None | None   | None    |
        | Service Desk   | Service Tickets               | All  | None | None   | None    |
        | Time & Expense | Time Entry                    | All  | All  | My     | All     |
        | Time & Expense | Time Entry Billable Option    | All  | All  | My     | All     |
        | System         | Member Maintenance - Finance  | None | None | None   | All     |
        | System         | My Account                    | My   | My   | My     | My      |
        | System         | Table Setup                   | All  | None | None   | All     |

    @LP-02
    Scenario: The company lookup the role adds to the 15 rows: Inquire All and nothing else
      Given an API member with the role "least-privilege"
      Then ConnectWise reports "Companies / Company Maintenance" as Add None, Edit None, Delete None and Inquire All
      And the integration's actions find "Companies / Company Maintenance" to be Add None, Edit None, Delete None and Inquire All

    @LP-02
    Scenario: The cells no action of the catalog can exercise are known
      Some cells govern nothing an integration does: no action creates a company, edits
      or deletes a document, or reads a company's team; merging is one
      request (Merge Tickets Add); closing is an edit (Close Service Tickets Edit); the
      field guards have no Delete; member writes and setup-table writes are blocked by the
      integration whatever the role grants, and setup tables are readable without Table
      Setup (the developer guide); and the catalog has no My Account action.
      Given an API member with the role "least-privilege"
      Then no action can exercise these cells of the role:
        | function                                    | operation |
        | Companies / Company Maintenance             | Add       |
        | Companies / Configurations                  | Delete    |
        | Companies / Manage Attachments              | Edit      |
        | Companies / Manage Attachments              | Delete    |
        | Companies / Team Members                    | Add       |
        | Companies / Team Members                    | Edit      |
        | Companies / Team Members                    | Delete    |
        | Companies / Team Members                    | Inquire   |
        | Finance / Agreements                        | Delete    |
        | Finance / Billing View Time                 | Delete    |
        | Service Desk / Close Service Tickets        | Add       |
        | Service Desk / Close Service Tickets        | Delete    |
        | Service Desk / Close Service Tickets        | Inquire   |
        | Service Desk / Merge Tickets                | Edit      |
        | Service Desk / Merge Tickets                | Delete    |
        | Service Desk / Merge Tickets                | Inquire   |
        | Service Desk / Service Ticket - Dependencies | Inquire   |
        | Time & Expense / Time Entry Billable Option | Delete    |
        | System / Member Maintenance - Finance       | Add       |
        | System / Member Maintenance - Finance       | Edit      |
        | System / Member Maintenance - Finance       | Delete    |
        | System / My Account                         | Add       |
        | System / My Account                         | Edit      |
        | System / My Account                         | Delete    |
        | System / My Account                         | Inquire   |
        | System / Table Setup                        | Add       |
        | System / Table Setup                        | Edit      |
        | System / Table Setup                        | Delete    |
        | System / Table Setup                        | Inquire   |

  Rule: LP-03 a withheld permission is explained, not swallowed

    @LP-03 @LP-04
    Scenario: With the least-privilege role a ticket can be opened but not read back
      Given an API member with the role "least-privilege"
      And a service ticket "Outlook keeps prompting" owned by the API member with:
        | summary | Outlook keeps prompting for password |
      When the AI asks to create a service ticket with:
        | summary | Scanner offline |
        | company | Acme            |
      Then the outcome is allowed
      When the AI asks to get ticket "Outlook keeps prompting"
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Service Tickets" Inquire

  Rule: LP-05 Time Entry Delete My removes only the member's own entries

    @LP-05 @SAFE-10 @writes
    Scenario: Deleting its own time entry is held, then allowed once confirmed
      Given an API member with the role "least-privilege"
      And a time entry "Remote session reviewed" owned by the API member
      When the AI asks to delete time entry "Remote session reviewed"
      Then the outcome is escalated
      And time entry "Remote session reviewed" still exists
      When the person confirms
      Then the outcome is allowed
      And time entry "Remote session reviewed" no longer exists

    @LP-05 @SD-05
    Scenario: Deleting another member's time entry is denied after confirmation
      Given an API member with the role "least-privilege"
      And a time entry "Onsite reproduced tray" owned by another member
      When the AI asks to delete time entry "Onsite reproduced tray"
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And time entry "Onsite reproduced tray" still exists

  Rule: LP-02 the rows marked "(customize)" can be limited to some items

    The older document's table marks Configurations, Agreements, My Account and Table Setup
    "(customize)": a role can tick only some items of the function's Customize list
    (configuration types, agreement types, setup tables). ConnectWise's own documents do
    not say how a limit is enforced; the mock follows what vendors describe (see
    fixtures/connectwise/permissions.toml [customize]): records of other items are not
    returned, and may not be written. On a sandbox these scenarios run as a member whose
    role the preflight found limited the same way (its cells and its Customize items);
    `cw-conform sandbox plan` lists the role to create.

    @LP-02
    Scenario: A role limited to firewalls sees only the firewalls among the configurations
      Given an API member with the role "least-privilege"
      And a configuration "Globex firewall" with:
        | name | GLBX-FW01                     |
        | type | {"id": 3, "name": "Firewall"} |
      And a configuration "Acme workstation"
      And the role limits "Companies / Configurations" to "Firewall"
      Then ConnectWise reports the Customize items of "Companies / Configurations" as "Firewall"
      When the AI asks to search configurations
      Then the outcome is allowed
      And the result includes the configuration "Globex firewall"
      And the result does not include the configuration "Acme workstation"

    @LP-02 @writes
    Scenario: A role limited to firewalls cannot change a workstation, and can change a firewall
      Given an API member with the role "least-privilege"
      And a configuration "Globex firewall" with:
        | name | GLBX-FW01                     |
        | type | {"id": 3, "name": "Firewall"} |
      And a configuration "Acme workstation"
      And the role limits "Companies / Configurations" to "Firewall"
      When the AI asks to update configuration "Acme workstation" with:
        | ipAddress | 10.19.1.115 |
      Then the outcome is denied
      And configuration "Acme workstation" now has the ipAddress "10.19.1.114"
      When the AI asks to update configuration "Globex firewall" with:
        | ipAddress | 10.20.1.1 |
      Then the outcome is allowed
      And configuration "Globex firewall" now has the ipAddress "10.20.1.1"

    @LP-02
    Scenario: Without a limit every item of the list is allowed
      Given an API member with the role "least-privilege"
      And a configuration "Globex firewall" with:
        | name | GLBX-FW01                     |
        | type | {"id": 3, "name": "Firewall"} |
      And a configuration "Acme workstation"
      Then ConnectWise reports the Customize items of "Companies / Configurations" as "Workstation", "Server", "Firewall"
      When the AI asks to search configurations
      Then the outcome is allowed
      And the result includes the configuration "Globex firewall"
      And the result includes the configuration "Acme workstation"

