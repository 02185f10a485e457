Feature: What a vendor asks first
  The first questions a vendor puts to the harness: can the AI delete a company, reopen a
  closed ticket, hand a ticket to another technician, or tie a customer's device to a
  ticket? Deleting a company is not among the integration's blocks, so it is held for a
  person like every delete, and ConnectWise still refuses it when the role withholds
  Company Maintenance Delete. Reopening and reassigning are edits of the ticket; linking a
  device is one of the ticket's dependencies, and the device is looked up by name first.

  Rule: SD-05 and SAFE-10 a company delete waits for a person, and Delete None refuses it

    @SD-05 @SAFE-10 @mock-only
    Scenario: With the least-privilege role the AI cannot delete a company
      Given an API member with the role "least-privilege"
      When the AI asks to delete company #23
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And ConnectWise received no write
      And company #23 still exists
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Companies / Company Maintenance" Delete
      And company #23 still exists

    @SAFE-10 @mock-only
    Scenario: Asked to delete a company, a person refuses and nothing is deleted
      Given an API member with the role "full-access"
      When the AI asks to delete company #23
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And company #23 still exists

    @SD-05 @writes @mock-only
    Scenario: With Company Maintenance Delete All a confirmed company delete goes through
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | All    | All     |
      When the AI asks to delete company #23
      Then the outcome is escalated
      And company #23 still exists
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one DELETE request, answered 204
      And company #23 no longer exists

  Rule: SD-01 reopening and reassigning a ticket are edits of the ticket

    @SD-01 @writes @mock-only
    Scenario: With Service Tickets Edit the AI reopens a closed ticket
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
      And ticket #1005 has the closedFlag "true"
      When the AI asks to reopen ticket #1005 with:
        | status | In Progress |
      Then the outcome is allowed
      And ticket #1005 now has the status "In Progress"
      And ticket #1005 now has the closedFlag "false"

    @SD-01 @mock-only
    Scenario: Close Service Tickets closes tickets but does not reopen them
      Given an API member whose role grants:
        | function                             | add  | edit | delete | inquire |
        | Service Desk / Service Tickets       | None | None | None   | All     |
        | Service Desk / Close Service Tickets | None | All  | None   | All     |
      When the AI asks to reopen ticket #1005 with:
        | status | In Progress |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Tickets" Edit
      And ticket #1005 now has the status ">Closed"

    @SD-01 @RD-05 @writes @mock-only
    Scenario: The AI reassigns a ticket to a technician it finds by identifier
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
        | System / Member Maintenance    | None | None | None   | All     |
      And ticket #1004 has the owner "jsmith"
      When the AI asks to reassign ticket #1004 with:
        | owner | ldavis |
      Then the outcome is allowed
      And ticket #1004 now has the owner "ldavis"

    @RD-05 @mock-only
    Scenario: Without Member Maintenance Inquire the AI cannot find the new owner, and nothing is written
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
      When the AI asks to reassign ticket #1004 with:
        | owner | ldavis |
      Then the outcome is denied
      And the AI is told it needs "System / Member Maintenance" Inquire
      And ConnectWise received no write
      And ticket #1004 now has the owner "jsmith"

    @RD-04 @mock-only
    Scenario: Reassigning to a member ConnectWise does not know is rejected before any write
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
        | System / Member Maintenance    | None | None | None   | All     |
      When the AI asks to reassign ticket #1004 with:
        | owner | nobody-here |
      Then the outcome is rejected
      And ConnectWise received no write
      And ticket #1004 now has the owner "jsmith"

  Rule: SD-03 linking a device to a ticket needs Service Ticket - Dependencies

    @SD-03 @PS-03 @writes @mock-only
    Scenario: The AI links a customer's file server to a ticket, found by its name
      Given an API member whose role grants:
        | function                                     | add  | edit | delete | inquire |
        | Service Desk / Service Ticket - Dependencies | All  | None | None   | None    |
        | Companies / Configurations                   | None | None | None   | All     |
      When the AI asks to add a configuration to ticket #1004 with:
        | configuration | ACME-FS01 |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the ticket configuration just created still exists
      And ticket configuration #1 now has the configuration "ACME-FS01"
      And ticket configuration #1 now has the ticketId "1004"

    @SD-03 @mock-only
    Scenario: Without Service Ticket - Dependencies Add a device cannot be linked to a ticket
      Given an API member whose role grants:
        | function                   | add  | edit | delete | inquire |
        | Companies / Configurations | None | None | None   | All     |
      When the AI asks to add a configuration to ticket #1004 with:
        | configuration | ACME-FS01 |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Add

    @PS-03 @mock-only
    Scenario: Without Configurations Inquire the device cannot be looked up, and nothing is written
      Given an API member whose role grants:
        | function                                     | add | edit | delete | inquire |
        | Service Desk / Service Ticket - Dependencies | All | None | None   | None    |
      When the AI asks to add a configuration to ticket #1004 with:
        | configuration | ACME-FS01 |
      Then the outcome is denied
      And the AI is told it needs "Companies / Configurations" Inquire
      And ConnectWise received no write
