Feature: The setup checklist and the integration's reach
  The newer document's checklist: a dedicated API member with a role made for the
  integration, start read-only, add write permissions one workflow at a time, and try a
  small workflow first. And the promise behind it: the integration never reaches what the
  API member cannot reach.

  Rule: OV-01 without the permission, no action is allowed

    @OV-01
    Scenario: With a role that grants nothing, every action of the catalog is denied or blocked
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member with the role "no-access"
      Then every action in the catalog is denied or blocked
      And nothing was written to ConnectWise

    @OV-01
    Scenario: With the customer-sync role, no write of the catalog goes through
      Given an API member with the role "customer-sync"
      And the write permissions of the workflow "contacts" are added to the role
      Then no write of another workflow is allowed

  Rule: OV-04 and CL-01 a dedicated API member with a role made for the integration

    @OV-04 @CL-01
    Scenario: An administrator-like role is flagged
      When the role "full-access" is audited
      Then the audit flags "administrator-like"

    @OV-04 @CL-01 @mock-only
    Scenario: A personal administrator account is flagged, whatever its role
      Given the integration signs in as the member "admin" with the role "read-only-discovery"
      When the API member is audited
      Then the audit flags "administrator-like"

    @OV-04 @CL-01
    Scenario: A dedicated API member with the read-only role passes the audit, and the integration connects as it
      Given an API member with the role "read-only-discovery"
      When the API member is audited
      Then the audit finds nothing
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed
      And ConnectWise received no write

    @CL-01 @SD-05
    Scenario: The older table's grants that the integration never needs are reported
      When the role "least-privilege" is audited
      Then the audit flags "blocked anyway" for "System / Table Setup" Add
      And the audit flags "delete grant" for "Time & Expense / Time Entry" Delete
      And the audit flags "delete grant" for "Companies / Contacts" Delete
      And the audit does not flag "administrator-like"

    @CL-01
    Scenario: Grants missing for a wanted workflow are reported
      When the role "read-only-discovery" is audited for the workflows "service-tickets, time"
      Then the audit flags "missing grant" for "Service Desk / Service Tickets" Add
      And the audit flags "missing grant" for "Time & Expense / Time Entry" Add

  Rule: CL-03 adding one workflow's write permissions enables that workflow and no other

    @CL-03 @writes
    Scenario Outline: Granting the writes of "<workflow>" on top of read-only discovery
      Given an API member with the role "read-only-discovery"
      And the write permissions of the workflow "<workflow>" are added to the role
      Then every write of the workflow "<workflow>" is allowed
      And no write of another workflow is allowed

      Examples:
        | workflow            |
        | companies           |
        | contacts            |
        | service-tickets     |
        | close-tickets       |
        | merge-tickets       |
        | ticket-dependencies |
        | time                |
        | schedule            |
        | expenses            |
        | agreements          |
        | purchase-orders     |
        | products            |
        | catalog             |
        | projects            |
        | project-tickets     |
        | sales               |
        | activities          |
        | configurations      |
        | documents           |

  Rule: CL-04 test a small workflow before expanding

    @CL-04 @smoke
    Scenario: Smoke: one read
      Given an API member with the role "least-privilege"
      When the AI asks to search companies "Acme"
      Then the outcome is allowed
      And ConnectWise received no write

    @CL-04 @smoke @writes
    Scenario: Smoke: one reversible write (a contact created, then removed after confirmation)
      Given an API member with the role "least-privilege"
      When the AI asks to create a contact with:
        | firstName | Smoke |
        | lastName  | Test  |
      Then the outcome is allowed
      When the AI asks to delete contact the one just created
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And the contact just created no longer exists
