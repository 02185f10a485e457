Feature: Merging tickets, ticket tasks and notes, and deletes
  Besides opening and updating tickets, the AI merges duplicate tickets, keeps the tasks
  and notes of a ticket up to date, and, rarely, deletes a record. Each of these has its
  own permission: Merge Tickets for merging, Service Ticket - Dependencies for a ticket's
  tasks and notes. A delete is always held until a person confirms it, and ConnectWise
  still refuses it when the role withholds Delete. Withholding Edit or Delete is how an
  MSP keeps the AI from changing or destroying records, whatever the workflow.

  Rule: SD-03 merging needs Merge Tickets; a ticket's tasks need Service Ticket - Dependencies

    @SD-03 @writes
    Scenario: With the least-privilege role the AI merges a duplicate ticket, although it cannot edit tickets
      Given an API member with the role "least-privilege"
      And a service ticket "Server down -" owned by another member with:
        | summary | Server down - file share unavailable |
        | status  | {"id": 1, "name": "New"}             |
      And a service ticket "Duplicate" owned by another member with:
        | summary | Server down again |
      When the AI asks to merge into ticket "Server down -" with:
        | mergeTicketIds | [ticket "Duplicate"] |
        | status         | New                  |
      Then the outcome is allowed
      And ticket "Server down -" now has the hasMergedChildTicketFlag "true"
      When the AI asks to update ticket "Server down -" with:
        | summary | Server down - file share and printer unavailable |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Tickets" Edit

    @SD-03 @writes
    Scenario: A merge that names no status gives the merged ticket the status of the ticket it joins
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Merge Tickets   | All  | None | None   | None    |
        | Service Desk / Service Tickets | None | None | None   | All     |
      And a service ticket "Server down" with:
        | summary | Server down - file share unavailable |
        | status  | {"id": 1, "name": "New"}             |
      And a service ticket "Firmware" with:
        | summary | Firewall firmware update       |
        | status  | {"id": 4, "name": "Resolved"}  |
      When the AI asks to merge into ticket "Server down" with:
        | mergeTicketIds | [ticket "Firmware"] |
      Then the outcome is allowed
      And ticket "Firmware" now has the status "New"
      And ticket "Server down" now has the hasMergedChildTicketFlag "true"

    @SD-03 @writes
    Scenario Outline: A merge that gives the status as <given> gives the merged ticket the status "<shown>"
      An AI may name the status, give its id, or send null for a status it leaves out; null
      is taken as naming no status.
      Given an API member whose role grants:
        | function                       | add  | edit | delete | inquire |
        | Service Desk / Merge Tickets   | All  | None | None   | None    |
        | Service Desk / Service Tickets | None | None | None   | All     |
      And a service ticket "Server down" with:
        | summary | Server down - file share unavailable |
        | status  | {"id": 1, "name": "New"}             |
      And a service ticket "Firmware" with:
        | summary | Firewall firmware update       |
        | status  | {"id": 4, "name": "Resolved"}  |
      When the AI asks to merge into ticket "Server down" with:
        | mergeTicketIds | [ticket "Firmware"] |
        | status         | <status>            |
      Then the outcome is allowed
      And ticket "Firmware" now has the status "<shown>"
      And ticket "Server down" now has the hasMergedChildTicketFlag "true"

      Examples:
        | given  | status            | shown             |
        | a name | Waiting on Client | Waiting on Client |
        | an id  | {"id": 3}         | Waiting on Client |
        | null   | null              | New               |

    @SD-03
    Scenario: Without Merge Tickets, merging is denied even with full rights on tickets
      Given an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | All    | All     |
      And a service ticket "Server down -" owned by another member with:
        | customerUpdatedFlag | false |
      And a service ticket "Firmware" owned by another member
      When the AI asks to merge into ticket "Server down -" with:
        | mergeTicketIds | [ticket "Firmware"] |
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Merge Tickets" Add
      And ticket "Server down -" now has the hasMergedChildTicketFlag "false"
      And nothing was written to ConnectWise

    @SD-03 @writes
    Scenario: With the least-privilege role a task can be added to a ticket, but not changed or removed
      Given an API member with the role "least-privilege"
      And a service ticket "Outlook keeps prompting"
      And a task "Rebuild Outlook profile" of ticket "Outlook keeps prompting"
      When the AI asks to add a task to ticket "Outlook keeps prompting" with:
        | notes | Check the VPN concentrator logs |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to update a task of ticket "Outlook keeps prompting" with:
        | id    | task "Rebuild Outlook profile"    |
        | notes | Rebuild the Outlook profile again |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Edit
      And task "Rebuild Outlook profile" now has the notes "Rebuild Outlook profile"
      When the AI asks to remove a task from ticket "Outlook keeps prompting" with:
        | id | task "Rebuild Outlook profile" |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Delete
      And task "Rebuild Outlook profile" still exists

    @SD-03 @writes
    Scenario: With Service Ticket - Dependencies Edit and Delete a task is changed, then removed once confirmed
      Given an API member whose role grants:
        | function                                     | add | edit | delete | inquire |
        | Service Desk / Service Ticket - Dependencies | All | All  | All    | All     |
      And a service ticket "Outlook keeps prompting"
      And a task "Rebuild Outlook profile" of ticket "Outlook keeps prompting"
      When the AI asks to update a task of ticket "Outlook keeps prompting" with:
        | id    | task "Rebuild Outlook profile"    |
        | notes | Rebuild the Outlook profile again |
      Then the outcome is allowed
      And task "Rebuild Outlook profile" now has the notes "Rebuild the Outlook profile again"
      When the AI asks to remove a task from ticket "Outlook keeps prompting" with:
        | id | task "Rebuild Outlook profile" |
      Then the outcome is escalated
      And task "Rebuild Outlook profile" still exists
      When the person confirms
      Then the outcome is allowed
      And task "Rebuild Outlook profile" no longer exists

    @SD-03
    Scenario: Without Service Ticket - Dependencies, adding a task is denied even with full rights on tickets
      Given an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | All    | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to add a task to ticket "VPN drops every" with:
        | notes | Check the VPN concentrator logs |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Add
      And nothing was written to ConnectWise

  Rule: SD-04 every kind of ticket note needs the note permission

    @SD-04 @writes
    Scenario Outline: With the note permission the AI adds <note> to a ticket
      Given an API member whose role grants:
        | function                                     | add |
        | Service Desk / Service Ticket - Dependencies | All |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to add <note> to ticket "VPN drops every" with:
        | text | <text> |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And ConnectWise received a note with detailDescriptionFlag <detail>, internalAnalysisFlag <internal> and resolutionFlag <resolution>

      Examples:
        | note              | text                                          | detail | internal | resolution |
        | a detail note     | Customer reports drops at 10:00 and 10:30.    | true   | false    | false      |
        | an internal note  | Concentrator firmware is two versions behind. | false  | true     | false      |
        | a resolution note | Updated the firmware; no drops since.         | false  | false    | true       |

    @SD-04
    Scenario Outline: Without the note permission <note> is denied, even with full rights on tickets
      Given an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | All    | All     |
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to add <note> to ticket "VPN drops every" with:
        | text | <text> |
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Service Ticket - Dependencies" Add
      And nothing was written to ConnectWise

      Examples:
        | note              | text                                          |
        | a detail note     | Customer reports drops at 10:00 and 10:30.    |
        | an internal note  | Concentrator firmware is two versions behind. |
        | a resolution note | Updated the firmware; no drops since.         |

  Rule: SD-05 every delete is held for confirmation, and Delete None still refuses it

    @SD-05
    Scenario: With Service Tickets Delete None a confirmed delete is denied
      Given an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | None   | All     |
      And a service ticket "Wi-Fi slow in" owned by another member
      When the AI asks to delete ticket "Wi-Fi slow in"
      Then the outcome is escalated
      And ConnectWise received no write
      And ticket "Wi-Fi slow in" still exists
      When the person confirms
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Service Tickets" Delete
      And ticket "Wi-Fi slow in" still exists

    @SD-05 @writes
    Scenario: With Service Tickets Delete All a delete waits for the person, then goes through
      Given an API member whose role grants:
        | function                       | add | edit | delete | inquire |
        | Service Desk / Service Tickets | All | All  | All    | All     |
      And a service ticket "Wi-Fi slow in" owned by another member
      When the AI asks to delete ticket "Wi-Fi slow in"
      Then the outcome is escalated
      And ConnectWise received no write
      And ticket "Wi-Fi slow in" still exists
      When the person confirms
      Then the outcome is allowed
      And ticket "Wi-Fi slow in" no longer exists

    @SD-05
    Scenario Outline: A delete the person refuses writes nothing: <delete>
      Given an API member with the role "full-access"
      And a service ticket "Wi-Fi slow in" owned by another member with:
        | contact | {"id": 103, "name": "Hank Scorpio"} |
      And a contact "Olivera"
      And a time entry "Onsite reproduced tray" owned by another member with:
        | ticket | {"id": 1003, "summary": "Office printer jamming on tray 2"} |
      When the AI asks to <delete>
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And ConnectWise received no write
      And <record> still exists

      Examples:
        | delete                 | record          |
        | delete ticket "Wi-Fi slow in"    | ticket "Wi-Fi slow in"    |
        | delete contact "Olivera"    | contact "Olivera"    |
        | delete time entry "Onsite reproduced tray" | time entry "Onsite reproduced tray" |

  Rule: LP-04 withholding Edit or Delete stops editing and destructive actions in every workflow

    @LP-04
    Scenario: With Contacts Edit None a contact cannot be updated
      Given an API member whose role grants:
        | function             | add | edit | delete | inquire |
        | Companies / Contacts | All | None | All    | All     |
      And a contact "Doe" with:
        | title | Office Manager |
      When the AI asks to update contact "Doe" with:
        | title | IT Director |
      Then the outcome is denied
      And the AI is told it needs "Companies / Contacts" Edit
      And contact "Doe" now has the title "Office Manager"

    @LP-04
    Scenario Outline: With <function> Edit None, <change> is denied
      Given an API member whose role grants:
        | function   | add | edit | delete | inquire |
        | <function> | All | None | All    | All     |
      And a company "Acme"
      And a service ticket "VPN drops"
      And a configuration "ACME-WS-014"
      And an opportunity "File Server Replacement"
      And an activity "Quote review meeting"
      And a project ticket "Inventory file shares"
      When the AI asks to <change> with:
        | <field> | <value> |
      Then the outcome is denied
      And the AI is told it needs "<function>" Edit
      And nothing was written to ConnectWise

      Examples:
        | function                         | change                                        | field       | value                     |
        | Companies / Company Maintenance  | update company "Acme"                         | phoneNumber | 602-555-0199              |
        | Service Desk / Service Tickets   | update ticket "VPN drops"                     | summary     | VPN drops every 5 minutes |
        | Companies / Configurations       | update configuration "ACME-WS-014"            | ipAddress   | 10.19.1.115               |
        | Sales / Opportunity              | update opportunity "File Server Replacement"  | notes       | Second quote sent         |
        | Companies / CRM/Sales Activities | update activity "Quote review meeting"        | notes       | Moved to Thursday.        |
        | Project / Project Tickets        | update project ticket "Inventory file shares" | summary     | Inventory file shares     |

    @LP-04
    Scenario Outline: With <function> Delete None, <delete> is denied once confirmed
      Given an API member whose role grants:
        | function   | add | edit | delete | inquire |
        | <function> | All | All  | None   | All     |
      And a service ticket "Wi-Fi slow in" owned by another member with:
        | contact | {"id": 103, "name": "Hank Scorpio"} |
      And a contact "Olivera"
      And a time entry "Remote session reviewed" owned by the API member with:
        | ticket | {"id": 1001, "summary": "Outlook keeps prompting for password"} |
      When the AI asks to <delete>
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "<function>" Delete
      And <record> still exists

      Examples:
        | function                       | delete                 | record          |
        | Service Desk / Service Tickets | delete ticket "Wi-Fi slow in"    | ticket "Wi-Fi slow in"    |
        | Companies / Contacts           | delete contact "Olivera"    | contact "Olivera"    |
        | Time & Expense / Time Entry    | delete time entry "Remote session reviewed" | time entry "Remote session reviewed" |
