Feature: What a vendor asks first
  The first questions a vendor puts to the harness: can the AI delete a company, reopen a
  closed ticket, hand a ticket to another technician, or tie a customer's device to a
  ticket? Deleting a company is not among the integration's blocks, so it is held for a
  person like every delete, and ConnectWise still refuses it when the role withholds
  Company Maintenance Delete. Reopening and reassigning are edits of the ticket; linking a
  device is one of the ticket's dependencies, and the device is looked up by name first.

  Rule: SD-05 and SAFE-10 a company delete waits for a person, and Delete None refuses it

    @SD-05 @SAFE-10
    Scenario: With the least-privilege role the AI cannot delete a company
      Given an API member with the role "least-privilege"
      And a company "Tech Data"
      When the AI asks to delete company "Tech Data"
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And ConnectWise received no write
      And company "Tech Data" still exists
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Companies / Company Maintenance" Delete
      And company "Tech Data" still exists

    @SAFE-10
    Scenario: Asked to delete a company, a person refuses and nothing is deleted
      Given an API member with the role "full-access"
      And a company "Tech Data"
      When the AI asks to delete company "Tech Data"
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And company "Tech Data" still exists

    @SD-05 @writes
    Scenario: With Company Maintenance Delete All a confirmed company delete goes through
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | All    | All     |
      And a company "Tech Data"
      When the AI asks to delete company "Tech Data"
      Then the outcome is escalated
      And company "Tech Data" still exists
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one DELETE request, answered 204
      And company "Tech Data" no longer exists

  Rule: SD-01 reopening and reassigning a ticket are edits of the ticket

    @SD-01 @writes
    Scenario: With Service Tickets Edit the AI reopens a closed ticket
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
      And a service ticket "Shared mailbox" with:
        | summary    | Email bouncing for shared mailbox |
        | status     | {"id": 5, "name": ">Closed"}      |
        | closedFlag | true                              |
      And ticket "Shared mailbox" has the closedFlag "true"
      When the AI asks to reopen ticket "Shared mailbox" with:
        | status | In Progress |
      Then the outcome is allowed
      And ticket "Shared mailbox" now has the status "In Progress"
      And ticket "Shared mailbox" now has the closedFlag "false"

    @SD-01
    Scenario: Close Service Tickets closes tickets but does not reopen them
      Given an API member whose role grants:
        | function                             | add  | edit | delete | inquire |
        | Service Desk / Service Tickets       | None | None | None   | All     |
        | Service Desk / Close Service Tickets | None | All  | None   | All     |
      And a service ticket "Shared mailbox" with:
        | summary    | Email bouncing for shared mailbox |
        | status     | {"id": 5, "name": ">Closed"}      |
        | closedFlag | true                              |
      When the AI asks to reopen ticket "Shared mailbox" with:
        | status | In Progress |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Tickets" Edit
      And ticket "Shared mailbox" now has the status ">Closed"

    @SD-01 @RD-05 @writes
    Scenario: The AI reassigns a ticket to a technician it finds by identifier
      The ticket goes from another member to the API member itself: both are members the
      site already has, found by their identifiers.
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
        | System / Member Maintenance    | None | None | None   | All     |
      And a service ticket "VPN" owned by another member
      And ticket "VPN" has the owner "another member"
      When the AI asks to reassign ticket "VPN" with:
        | owner | the API member |
      Then the outcome is allowed
      And ticket "VPN" now has the owner "the API member"

    @RD-05
    Scenario: Without Member Maintenance Inquire the AI cannot find the new owner, and nothing is written
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
      And a service ticket "VPN" owned by another member
      When the AI asks to reassign ticket "VPN" with:
        | owner | the API member |
      Then the outcome is denied
      And the AI is told it needs "System / Member Maintenance" Inquire
      And ConnectWise received no write
      And ticket "VPN" now has the owner "another member"

    @RD-04
    Scenario: Reassigning to a member ConnectWise does not know is rejected before any write
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Service Tickets | None | All  | None   | All     |
        | System / Member Maintenance    | None | None | None   | All     |
      And a service ticket "VPN" owned by another member
      When the AI asks to reassign ticket "VPN" with:
        | owner | nobody-here |
      Then the outcome is rejected
      And ConnectWise received no write
      And ticket "VPN" now has the owner "another member"

  Rule: SD-03 linking a device to a ticket needs Service Ticket - Dependencies

    @SD-03 @PS-03 @writes
    Scenario: The AI links a customer's file server to a ticket, found by its name
      Given an API member whose role grants:
        | function                                     | add  | edit | delete | inquire |
        | Service Desk / Service Ticket - Dependencies | All  | None | None   | None    |
        | Companies / Configurations                   | None | None | None   | All     |
      And a service ticket "File share"
      When the AI asks to add a configuration to ticket "File share" with:
        | configuration | ACME-FS01 |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the ticket configuration just created still exists
      And the ticket configuration just created now has the configuration "ACME-FS01"

    @SD-03
    Scenario: Without Service Ticket - Dependencies Add a device cannot be linked to a ticket
      Given an API member whose role grants:
        | function                   | add  | edit | delete | inquire |
        | Companies / Configurations | None | None | None   | All     |
      And a service ticket "File share"
      When the AI asks to add a configuration to ticket "File share" with:
        | configuration | ACME-FS01 |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Add

    @PS-03
    Scenario: Without Configurations Inquire the device cannot be looked up, and nothing is written
      Given an API member whose role grants:
        | function                                     | add | edit | delete | inquire |
        | Service Desk / Service Ticket - Dependencies | All | None | None   | None    |
      And a service ticket "File share"
      When the AI asks to add a configuration to ticket "File share" with:
        | configuration | ACME-FS01 |
      Then the outcome is denied
      And the AI is told it needs "Companies / Configurations" Inquire
      And ConnectWise received no write
