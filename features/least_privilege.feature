Feature: The recommended least-privilege role
  The older document recommends a security role of 15 rows. Each row grants Add, Edit,
  Delete and Inquire at a level; ConnectWise must report each level as granted and enforce
  it on every request the row's function governs: All allows every record, My only the
  member's own, None nothing. Where a function governs no request the mock models (for
  example Add on Close Service Tickets), the level is checked as ConnectWise reports it.

  Some cells only make sense together, and the table intends them so: Service Tickets is
  Add only, so a ticket can be opened but not read back or edited; Close Service Tickets
  Edit closes a ticket without Service Tickets Edit; Merge Tickets is All; Service Ticket -
  Dependencies is Add only; the time-entry rows delete only the member's own entries.

  Rule: LP-02 each row gives the documented result for each operation

    @LP-02 @mock-only
    Scenario Outline: <module> / <function>: Add <add>, Edit <edit>, Delete <delete>, Inquire <inquire>
      Given an API member with the role "least-privilege"
      Then ConnectWise reports "<module> / <function>" as Add <add>, Edit <edit>, Delete <delete> and Inquire <inquire>
      And each request ConnectWise governs by "<module> / <function>" gets Add <add>, Edit <edit>, Delete <delete> and Inquire <inquire>

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

  Rule: LP-03 a withheld permission is explained, not swallowed

    @LP-03 @LP-04 @mock-only
    Scenario: With the least-privilege role a ticket can be opened but not read back
      Given an API member with the role "least-privilege"
      When the AI asks to create a service ticket with:
        | summary | Scanner offline |
        | company | Acme            |
      Then the outcome is allowed
      When the AI asks to get ticket #1001
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Service Tickets" Inquire

  Rule: LP-05 Time Entry Delete My removes only the member's own entries

    @LP-05 @SAFE-10 @writes @mock-only
    Scenario: Deleting its own time entry is held, then allowed once confirmed
      Given an API member with the role "least-privilege"
      When the AI asks to delete time entry #501
      Then the outcome is escalated
      And time entry #501 still exists
      When the person confirms
      Then the outcome is allowed
      And time entry #501 no longer exists

    @LP-05 @SD-05 @mock-only
    Scenario: Deleting another member's time entry is denied after confirmation
      Given an API member with the role "least-privilege"
      When the AI asks to delete time entry #503
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And time entry #503 still exists
