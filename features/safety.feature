Feature: What the integration blocks or holds whatever the role grants
  Some changes are never the AI's to make: members, invoices, the setup tables, locations,
  departments, user-defined fields, system information and the agreement fields that
  change billing. The integration refuses them before anything reaches ConnectWise, even
  when the API member's role would allow them, and tells the AI why. Other changes cost
  the customer money or cannot be undone: time, expenses, agreements and purchase orders
  are held for review, and every delete waits for a person to confirm it. Until the
  person answers, nothing is written; if the person refuses, nothing is written at all.

  Every scenario here runs with an administrator-like role, so the only thing standing
  between the AI and the change is the integration itself.

  Background:
    Given an API member with the role "full-access"

  Rule: SAFE-01 the integration never changes members

    @SAFE-01
    Scenario: Changing a member's title is refused before anything is sent
      The member is another member the site already has, only referred to.
      When the AI asks to update member "another member" with:
        | title | Lead Technician |
      Then the outcome is blocked
      And the result cites rule SAFE-01
      And the AI is told "never changes ConnectWise members"
      And ConnectWise received no request for it

    @SAFE-01
    Scenario: Adding a member is refused before anything is sent
      When the AI asks to create a member with:
        | identifier | aibot2 |
        | firstName  | Second |
        | lastName   | Bot    |
      Then the outcome is blocked
      And the result cites rule SAFE-01
      And the AI is told "never changes ConnectWise members"
      And ConnectWise received no request for it

    @SAFE-01
    Scenario: Looking up members still works
      When the AI asks to search members "another member"
      Then the outcome is allowed
      And the result includes the member "another member"

  Rule: SAFE-02 the integration never changes invoices

    @SAFE-02
    Scenario: Moving an invoice's due date is refused before anything is sent
      Given an invoice "October"
      When the AI asks to update invoice "October" with:
        | dueDate | 2026-11-30T00:00:00Z |
      Then the outcome is blocked
      And the result cites rule SAFE-02
      And the AI is told "never changes invoices"
      And ConnectWise received no request for it
      And invoice "October" now has the dueDate "2026-10-31T00:00:00Z"

    @SAFE-02
    Scenario: Deleting an invoice is refused outright, not held for a person to confirm
      Given an invoice "October"
      When the AI asks to delete invoice "October"
      Then the outcome is blocked
      And the result cites rule SAFE-02
      And the AI is told "never changes invoices"
      And ConnectWise received no request for it
      And invoice "October" still exists

    @SAFE-02
    Scenario: Listing invoices still works
      Given an invoice "October"
      And an invoice "November" with:
        | dueDate | 2026-11-30T00:00:00Z |
      When the AI asks to list invoices
      Then the outcome is allowed
      And the result includes the invoice "October"
      And the result includes the invoice "November"

  Rule: SAFE-03 the integration never changes setup catalogs

    @SAFE-03
    Scenario Outline: The AI may not <request>
      Given a board "Help Desk"
      And a work type "Remote Support"
      And a priority "Priority 2"
      When the AI asks to <request> with:
        | <field>       | <value>       |
        | <other field> | <other value> |
      Then the outcome is blocked
      And the result cites rule SAFE-03
      And the AI is told "never changes setup catalogs"
      And ConnectWise received no request for it

      Examples:
        | request                            | field | value               | other field  | other value   |
        | create a service board             | name  | After Hours         | projectFlag  | false         |
        | add a status to board "Help Desk"  | name  | Escalated           | sortOrder    | 5             |
        | update a type of board "Help Desk" | id    | 1                   | name         | Incident (P1) |
        | update work type "Remote Support"  | rate  | 1.5                 | billTime     | NoCharge      |
        | create a work role                 | name  | Dispatcher          | hourlyRate   | 85            |
        | add a subtype to board "Help Desk" | name  | Scanner             | inactiveFlag | false         |
        | update priority "Priority 2"       | name  | Priority 2 - Urgent | color        | #E65100       |

    @SAFE-03
    Scenario: Deleting a work type is refused outright, not held for a person to confirm
      Given a work type "Travel" with:
        | name     | Travel   |
        | billTime | NoCharge |
      When the AI asks to delete work type "Travel"
      Then the outcome is blocked
      And the result cites rule SAFE-03
      And the AI is told "never changes setup catalogs"
      And ConnectWise received no request for it
      And work type "Travel" still exists

    @SAFE-03
    Scenario: Removing a status from a board is refused outright, not held for a person to confirm
      Given a board "Help Desk"
      And a board status "Escalated" of board "Help Desk" with:
        | name | Escalated |
      When the AI asks to remove a status from board "Help Desk" with:
        | id | board status "Escalated" |
      Then the outcome is blocked
      And the result cites rule SAFE-03
      And the AI is told "never changes setup catalogs"
      And ConnectWise received no request for it
      And board status "Escalated" still exists

    @SAFE-03
    Scenario Outline: The AI can still <request>
      Given a board "Help Desk"
      And a board status "In Progress" of board "Help Desk"
      And a board type "Incident" of board "Help Desk"
      And a board subtype "Printer" of board "Help Desk"
      And a work type "Remote Support"
      And a work role "Technician"
      When the AI asks to <request>
      Then the outcome is allowed
      And the result includes the <kind> "<name>"

      Examples:
        | request                                | kind    | name           |
        | list service boards                    | board   | Help Desk      |
        | list the statuses of board "Help Desk" | status  | In Progress    |
        | list the types of board "Help Desk"    | type    | Incident       |
        | list the subtypes of board "Help Desk" | subtype | Printer        |
        | list work types               | type    | Remote Support |
        | list work roles               | role    | Technician     |

  Rule: SAFE-04 the integration never changes locations

    @SAFE-04
    Scenario: Renaming a location is refused before anything is sent
      Given a location "Head Office"
      When the AI asks to update location "Head Office" with:
        | name | HQ |
      Then the outcome is blocked
      And the result cites rule SAFE-04
      And the AI is told "never changes locations"
      And ConnectWise received no request for it
      And location "Head Office" now has the name "Head Office"

    @SAFE-04
    Scenario: Deleting a location is refused outright, not held for a person to confirm
      Given a location "Branch Office" with:
        | name | Branch Office |
      When the AI asks to delete location "Branch Office"
      Then the outcome is blocked
      And the result cites rule SAFE-04
      And the AI is told "never changes locations"
      And ConnectWise received no request for it
      And location "Branch Office" still exists

  Rule: SAFE-05 the integration never changes departments

    @SAFE-05
    Scenario: Creating a department is refused before anything is sent
      When the AI asks to create a department with:
        | identifier | SEC      |
        | name       | Security |
      Then the outcome is blocked
      And the result cites rule SAFE-05
      And the AI is told "never changes departments"
      And ConnectWise received no request for it

    @SAFE-05
    Scenario: Renaming a department is refused before anything is sent
      Given a department "Service"
      When the AI asks to update department "Service" with:
        | name | Service Desk |
      Then the outcome is blocked
      And the result cites rule SAFE-05
      And the AI is told "never changes departments"
      And ConnectWise received no request for it
      And department "Service" now has the name "Service"

  Rule: SAFE-06 the integration never changes user-defined fields

    @SAFE-06
    Scenario: Renaming a user-defined field is refused before anything is sent
      Given a user-defined field "Root Cause"
      When the AI asks to update user-defined field "Root Cause" with:
        | caption | Cause |
      Then the outcome is blocked
      And the result cites rule SAFE-06
      And the AI is told "never changes user-defined-field catalogs"
      And ConnectWise received no request for it
      And user defined field "Root Cause" now has the caption "Root Cause"

    @SAFE-06
    Scenario: Deleting a user-defined field is refused outright, not held for a person to confirm
      Given a user-defined field "Site Visit Required" with:
        | caption | Site Visit Required |
      When the AI asks to delete user-defined field "Site Visit Required"
      Then the outcome is blocked
      And the result cites rule SAFE-06
      And the AI is told "never changes user-defined-field catalogs"
      And ConnectWise received no request for it
      And user defined field "Site Visit Required" still exists

  Rule: SAFE-07 the integration never changes system information

    @SAFE-07
    Scenario: Changing the server time zone is refused before anything is sent
      When the AI asks to update system information with:
        | serverTimeZone | UTC |
      Then the outcome is blocked
      And the result cites rule SAFE-07
      And the AI is told "never changes system information"
      And ConnectWise received no request for it

    @SAFE-07
    Scenario: Connecting, which reads the system information, still works
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed

  Rule: SAFE-08 agreement fields that change billing are never written, not even alongside allowed ones

    @SAFE-08
    Scenario Outline: An agreement update that touches <field> is refused as a whole
      Given an agreement "Acme - Managed" with:
        | billOneTimeFlag          | false         |
        | oneTimeFlag              | false         |
        | applicationUnits         | Hours         |
        | applicationLimit         | 0.0           |
        | applicationCycle         | CalendarMonth |
        | applicationUnlimitedFlag | true          |
        | invoicingCycle           | CalendarYear  |
        | prorateFlag              | true          |
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO | PO-2026-17 |
        | <field>    | <value>    |
      Then the outcome is blocked
      And the result cites rule SAFE-08
      And the AI is told "<field>"
      And the AI is told "can change billing retroactively"
      And ConnectWise received no request for it
      And agreement "Acme - Managed" now has the customerPO "ACME-PO-4471"
      And agreement "Acme - Managed" now has the <field> "<current>"

      Examples:
        | field                    | value        | current       |
        | billingCycle             | {"id": 2}    | Monthly       |
        | applicationUnits         | Amount       | Hours         |
        | applicationLimit         | 40           | 0.0           |
        | applicationCycle         | ContractYear | CalendarMonth |
        | applicationUnlimitedFlag | false        | true          |
        | billOneTimeFlag          | true         | false         |
        | oneTimeFlag              | true         | false         |
        | billAmount               | 3000         | 2500.0        |
        | invoicingCycle           | ContractYear | CalendarYear  |
        | prorateFlag              | false        | true          |

    @SAFE-08
    Scenario: A billing amount the agreement does not show yet is refused all the same
      Given an agreement "Acme - Managed"
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO    | PO-2026-17 |
        | billingAmount | 3000       |
      Then the outcome is blocked
      And the result cites rule SAFE-08
      And the AI is told "billingAmount"
      And ConnectWise received no request for it
      And agreement "Acme - Managed" now has the customerPO "ACME-PO-4471"

    @SAFE-08
    Scenario Outline: A billing field written as a path (<path>) is refused all the same
      Given an agreement "Acme - Managed" with:
        | billOneTimeFlag          | false         |
        | oneTimeFlag              | false         |
        | applicationUnits         | Hours         |
        | applicationLimit         | 0.0           |
        | applicationCycle         | CalendarMonth |
        | applicationUnlimitedFlag | true          |
        | invoicingCycle           | CalendarYear  |
        | prorateFlag              | true          |
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO | PO-2026-17 |
        | <path>     | <value>    |
      Then the outcome is blocked
      And the result cites rule SAFE-08
      And the AI is told "<field>"
      And ConnectWise received no request for it
      And agreement "Acme - Managed" now has the customerPO "ACME-PO-4471"

      Examples:
        | path                      | field                    | value        |
        | /billingCycle             | billingCycle             | {"id": 2}    |
        | billingCycle/id           | billingCycle             | 2            |
        | /billAmount               | billAmount               | 3000         |
        | /billOneTimeFlag          | billOneTimeFlag          | true         |
        | /oneTimeFlag              | oneTimeFlag              | true         |
        | /applicationUnits         | applicationUnits         | Amount       |
        | /applicationLimit         | applicationLimit         | 40           |
        | /applicationCycle         | applicationCycle         | ContractYear |
        | /applicationUnlimitedFlag | applicationUnlimitedFlag | false        |
        | /billingAmount            | billingAmount            | 3000         |
        | /prorateFlag              | prorateFlag              | false        |
        | /invoicingCycle           | invoicingCycle           | ContractYear |

    @SAFE-08 @SAFE-09 @writes
    Scenario: The same update without the billing field goes to review and writes only the PO number
      Given an agreement "Acme - Managed"
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO | PO-2026-17 |
      Then the outcome is escalated
      And the result cites rule SAFE-09
      And the confirmation names the fields "customerPO"
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one PATCH request, answered 200
      And the write sent only the fields "customerPO"
      And agreement "Acme - Managed" now has the customerPO "PO-2026-17"

  Rule: SAFE-09 time, expenses, agreements and purchase orders are held for review before anything is written

    @SAFE-09 @writes
    Scenario Outline: A new <record> is held for review and created once confirmed
      Given an agreement "Acme - Managed" with:
        | billExpenses  | Billable                                                  |
        | billProducts  | Billable                                                  |
        | internalNotes | All-you-can-eat remote support; onsite billed separately. |
      When the AI asks to <request> with:
        | <field 1> | <value 1> |
        | <field 2> | <value 2> |
        | <field 3> | <value 3> |
      Then the outcome is escalated
      And the result cites rule SAFE-09
      And the confirmation names the fields "<field 1>, <field 2>, <field 3>"
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the write sent only the fields "<field 1>, <field 2>, <field 3>"

      Examples:
        | record             | request                           | field 1       | value 1                  | field 2  | value 2              | field 3       | value 3                    |
        | agreement          | create an agreement               | name          | Globex - Backup Services | type     | {"id": 1}            | company       | Globex                     |
        | agreement addition | add an addition to agreement "Acme - Managed" | product       | {"id": 12}               | quantity | 2                    | billCustomer  | Billable                   |
        | expense            | create an expense                 | amount        | 18.5                     | date     | 2026-10-05T00:00:00Z | notes         | Courier fee                |
        | time entry         | create a time entry               | timeStart     | 2026-10-05T09:00:00Z     | timeEnd  | 2026-10-05T09:30:00Z | notes         | Checked VPN logs.          |
        | purchase order     | create a purchase order           | vendorCompany | {"id": 23}               | status   | {"id": 1}            | internalNotes | Docking station for Globex |

    @SAFE-09
    Scenario Outline: Refusing the review of a new <record> creates nothing
      Given an agreement "Acme - Managed" with:
        | billExpenses  | Billable                                                  |
        | billProducts  | Billable                                                  |
        | internalNotes | All-you-can-eat remote support; onsite billed separately. |
      When the AI asks to <request> with:
        | <field 1> | <value 1> |
        | <field 2> | <value 2> |
        | <field 3> | <value 3> |
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write

      Examples:
        | record             | request                           | field 1       | value 1                  | field 2  | value 2              | field 3       | value 3                    |
        | agreement          | create an agreement               | name          | Globex - Backup Services | type     | {"id": 1}            | company       | Globex                     |
        | agreement addition | add an addition to agreement "Acme - Managed" | product       | {"id": 12}               | quantity | 2                    | billCustomer  | Billable                   |
        | expense            | create an expense                 | amount        | 18.5                     | date     | 2026-10-05T00:00:00Z | notes         | Courier fee                |
        | time entry         | create a time entry               | timeStart     | 2026-10-05T09:00:00Z     | timeEnd  | 2026-10-05T09:30:00Z | notes         | Checked VPN logs.          |
        | purchase order     | create a purchase order           | vendorCompany | {"id": 23}               | status   | {"id": 1}            | internalNotes | Docking station for Globex |

    @SAFE-09 @writes
    Scenario Outline: A change to <record> is held for review and written once confirmed
      Given an agreement "Acme - Managed"
      And an expense entry "Courier fee"
      And a time entry "Remote session" owned by the API member
      And a purchase order "Laptop order"
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is escalated
      And the result cites rule SAFE-09
      And the confirmation names the fields "<field>"
      And ConnectWise received no write
      And <record> now has the <field> "<current>"
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one PATCH request, answered 200
      And the write sent only the fields "<field>"
      And <record> now has the <field> "<value>"

      Examples:
        | request                               | record                        | field         | value                                           | current                                                    |
        | update agreement "Acme - Managed"     | agreement "Acme - Managed"    | customerPO    | PO-2026-17                                      | ACME-PO-4471                                               |
        | update expense "Courier fee"          | expense entry "Courier fee"   | notes         | Courier fee (receipt attached)                  | Courier fee for laptop delivery to Initech.                |
        | update time entry "Remote session"    | time entry "Remote session"   | notes         | Reviewed Outlook profile, sign-in logs and MFA. | Remote session: reviewed Outlook profile and sign-in logs. |
        | update purchase order "Laptop order"  | purchase order "Laptop order" | internalNotes | Expedite                                        | Laptop for a ticket.                                       |

    @SAFE-09
    Scenario Outline: Refusing the review of a change to <record> leaves it as it was
      Given an agreement "Acme - Managed"
      And an expense entry "Courier fee"
      And a time entry "Remote session" owned by the API member
      And a purchase order "Laptop order"
      When the AI asks to <request> with:
        | <field> | <value> |
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And <record> now has the <field> "<current>"

      Examples:
        | request                               | record                        | field         | value                                           | current                                                    |
        | update agreement "Acme - Managed"     | agreement "Acme - Managed"    | customerPO    | PO-2026-17                                      | ACME-PO-4471                                               |
        | update expense "Courier fee"          | expense entry "Courier fee"   | notes         | Courier fee (receipt attached)                  | Courier fee for laptop delivery to Initech.                |
        | update time entry "Remote session"    | time entry "Remote session"   | notes         | Reviewed Outlook profile, sign-in logs and MFA. | Remote session: reviewed Outlook profile and sign-in logs. |
        | update purchase order "Laptop order"  | purchase order "Laptop order" | internalNotes | Expedite                                        | Laptop for a ticket.                                       |

    @SAFE-09 @writes
    Scenario: A change to an agreement addition is held for review and written once confirmed
      Given an agreement "Acme - Managed"
      And an addition "Managed Workstation" of agreement "Acme - Managed"
      When the AI asks to update an addition of agreement "Acme - Managed" with:
        | id       | addition "Managed Workstation" |
        | quantity | 26  |
      Then the outcome is escalated
      And the result cites rule SAFE-09
      And the confirmation names the fields "quantity"
      And ConnectWise received no write
      And addition "Managed Workstation" now has the quantity "25.0"
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one PATCH request, answered 200
      And the write sent only the fields "quantity"
      And addition "Managed Workstation" now has the quantity "26"

    @SAFE-09
    Scenario: Refusing the review of a change to an agreement addition leaves it as it was
      Given an agreement "Acme - Managed"
      And an addition "Managed Workstation" of agreement "Acme - Managed"
      When the AI asks to update an addition of agreement "Acme - Managed" with:
        | id       | addition "Managed Workstation" |
        | quantity | 26  |
      Then the outcome is escalated
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And addition "Managed Workstation" now has the quantity "25.0"

  Rule: SAFE-10 every delete waits for a person to confirm it

    @SAFE-10
    Scenario Outline: Asked to <request>, a person refuses and nothing is deleted
      Given a contact "Olivera"
      And a service ticket "Wi-Fi slow in" owned by another member with:
        | contact | {"id": 103, "name": "Hank Scorpio"} |
      And a time entry "Remote session reviewed" owned by the API member with:
        | ticket | {"id": 1001, "summary": "Outlook keeps prompting for password"} |
      When the AI asks to <request>
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And ConnectWise received no write
      And <record> still exists
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And <record> still exists

      Examples:
        | request                | record          |
        | delete contact "Olivera"    | contact "Olivera"    |
        | delete ticket "Wi-Fi slow in"    | ticket "Wi-Fi slow in"    |
        | delete time entry "Remote session reviewed" | time entry "Remote session reviewed" |

    @SAFE-10 @writes
    Scenario Outline: Asked to <request>, a person confirms and it is deleted
      Given a contact "Olivera"
      And a service ticket "Wi-Fi slow in" owned by another member with:
        | contact | {"id": 103, "name": "Hank Scorpio"} |
      And a time entry "Remote session reviewed" owned by the API member with:
        | ticket | {"id": 1001, "summary": "Outlook keeps prompting for password"} |
      When the AI asks to <request>
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And <record> still exists
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one DELETE request, answered 204
      And <record> no longer exists

      Examples:
        | request                | record          |
        | delete contact "Olivera"    | contact "Olivera"    |
        | delete ticket "Wi-Fi slow in"    | ticket "Wi-Fi slow in"    |
        | delete time entry "Remote session reviewed" | time entry "Remote session reviewed" |

    @SAFE-10
    Scenario: Asked to remove a task from a ticket, a person refuses and nothing is deleted
      Given a service ticket "Outlook keeps prompting"
      And a task "Rebuild Outlook profile" of ticket "Outlook keeps prompting"
      When the AI asks to remove a task from ticket "Outlook keeps prompting" with:
        | id | task "Rebuild Outlook profile" |
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And ConnectWise received no write
      And task "Rebuild Outlook profile" still exists
      When the person refuses
      Then the outcome is blocked
      And the AI is told "nothing was written"
      And ConnectWise received no write
      And task "Rebuild Outlook profile" still exists

    @SAFE-10 @writes
    Scenario: Asked to remove a task from a ticket, a person confirms and it is deleted
      Given a service ticket "Outlook keeps prompting"
      And a task "Rebuild Outlook profile" of ticket "Outlook keeps prompting"
      When the AI asks to remove a task from ticket "Outlook keeps prompting" with:
        | id | task "Rebuild Outlook profile" |
      Then the outcome is escalated
      And the result cites rule SAFE-10
      And task "Rebuild Outlook profile" still exists
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one DELETE request, answered 204
      And task "Rebuild Outlook profile" no longer exists
