Feature: Scheduling, time entries and billing-sensitive workflows
  Dispatchers book technicians with schedule entries; technicians record their work as time
  entries; finance keeps agreements, agreement additions, expenses and purchase orders. Each
  is governed by its own security function: Inquire to read, Add to create, Edit to update.
  A time entry names its work type and work role, which the integration looks up in the
  setup tables first; if the role cannot read them, the time entry is denied before anything
  is written. Changes that touch billing (time entries, agreements, agreement
  additions, expenses and purchase orders) are held for review: nothing is sent until a
  person confirms, and then ConnectWise still applies the role.

  Rule: ST-01 Resource Scheduling controls reading, creating and updating schedule entries

    @ST-01
    Scenario: With Resource Scheduling Inquire the AI reads the dispatch schedule
      Given an API member whose role grants:
        | function                           | inquire |
        | Service Desk / Resource Scheduling | All     |
      And a schedule entry "VPN visit" owned by the API member
      And a schedule entry "Printer visit" owned by another member
      When the AI asks to list schedule entries
      Then the outcome is allowed
      And the result includes the entry "VPN visit"
      And the result includes the entry "Printer visit"
      And ConnectWise received no write

    @ST-01
    Scenario: Without Resource Scheduling Inquire the dispatch schedule cannot be read
      Given an API member whose role grants:
        | function                           | add | edit | inquire |
        | Service Desk / Resource Scheduling | All | All  | None    |
      When the AI asks to list schedule entries
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Resource Scheduling" Inquire

    @ST-01 @writes
    Scenario: With Resource Scheduling Add the AI books a technician for a ticket
      The technician is another member the site already has, only referred to.
      Given an API member whose role grants:
        | function                           | add  | edit | inquire |
        | Service Desk / Resource Scheduling | All  | None | All     |
        | System / Member Maintenance        | None | None | All     |
      And a service ticket "VPN"
      When the AI asks to schedule a technician with:
        | objectId  | ticket "VPN"         |
        | type      | {"id": 4}            |
        | member    | another member       |
        | dateStart | 2026-10-06T15:00:00Z |
        | dateEnd   | 2026-10-06T16:00:00Z |
        | name      | Acme VPN follow-up   |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the schedule entry just created now has the name "Acme VPN follow-up"
      And the schedule entry just created now has the member "another member"

    @ST-01
    Scenario: Without Resource Scheduling Add no technician is booked
      Given an API member whose role grants:
        | function                           | add  | edit | inquire |
        | Service Desk / Resource Scheduling | None | All  | All     |
        | System / Member Maintenance        | None | None | All     |
      When the AI asks to schedule a technician with:
        | objectId  | 1004                 |
        | type      | {"id": 4}            |
        | member    | jsmith               |
        | dateStart | 2026-10-06T15:00:00Z |
        | dateEnd   | 2026-10-06T16:00:00Z |
        | name      | Acme VPN follow-up   |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Resource Scheduling" Add
      And nothing was written to ConnectWise

    @ST-01 @writes
    Scenario: With Resource Scheduling Edit the AI moves a technician's appointment
      Given an API member whose role grants:
        | function                           | add  | edit | inquire |
        | Service Desk / Resource Scheduling | None | All  | All     |
      And a schedule entry "Acme Corporation VPN" owned by another member
      When the AI asks to update schedule entry "Acme Corporation VPN" with:
        | dateStart | 2026-10-03T17:00:00Z |
        | dateEnd   | 2026-10-03T18:00:00Z |
      Then the outcome is allowed
      And schedule entry "Acme Corporation VPN" now has the dateStart "2026-10-03T17:00:00Z"

    @ST-01
    Scenario: Without Resource Scheduling Edit an appointment cannot be moved
      Given an API member whose role grants:
        | function                           | add | edit | inquire |
        | Service Desk / Resource Scheduling | All | None | All     |
      And a schedule entry "Acme Corporation VPN" owned by another member
      When the AI asks to update schedule entry "Acme Corporation VPN" with:
        | dateStart | 2026-10-03T17:00:00Z |
        | dateEnd   | 2026-10-03T18:00:00Z |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Resource Scheduling" Edit
      And schedule entry "Acme Corporation VPN" now has the dateStart "2026-10-03T16:00:00Z"

  Rule: ST-02 Time Entry controls reading, creating and updating time entries; every write is held for billing review

    Background:
      Given an API member whose role grants:
        | function                    | add  | edit | delete | inquire |
        | Time & Expense / Time Entry | All  | All  | None   | All     |
        | System / Table Setup        | None | None | None   | All     |

    @ST-02
    Scenario: With Time Entry Inquire the AI reads the time entered
      Given a time entry "Remote session" owned by the API member
      And a time entry "Site visit" owned by another member
      When the AI asks to list time entries
      Then the outcome is allowed
      And the result includes the entry "Remote session"
      And the result includes the entry "Site visit"
      And ConnectWise received no write

    @ST-02 @writes
    Scenario: A new time entry is held for billing review, then entered once confirmed
      When the AI asks to create a time entry with:
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | timeStart    | 2026-10-05T09:00:00Z |
        | timeEnd      | 2026-10-05T09:30:00Z |
        | workType     | Remote Support       |
        | workRole     | Technician           |
        | notes        | Checked VPN logs.    |
      Then the outcome is escalated
      And the result cites rule SAFE-09
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @ST-02 @writes
    Scenario: A change to a time entry is held for billing review, then made once confirmed
      Given a time entry "Remote session reviewed" owned by the API member
      When the AI asks to update time entry "Remote session reviewed" with:
        | notes | Reviewed Outlook profile, sign-in logs and MFA. |
      Then the outcome is escalated
      And the confirmation names the fields "notes"
      And time entry "Remote session reviewed" now has the notes "Remote session: reviewed Outlook profile and sign-in logs."
      When the person confirms
      Then the outcome is allowed
      And time entry "Remote session reviewed" now has the notes "Reviewed Outlook profile, sign-in logs and MFA."

    @ST-02
    Scenario: Without Time Entry Inquire the time entered cannot be read
      Given an API member whose role grants:
        | function                    | add  | edit | inquire |
        | Time & Expense / Time Entry | All  | All  | None    |
        | System / Table Setup        | None | None | All     |
      When the AI asks to list time entries
      Then the outcome is denied
      And the AI is told it needs "Time & Expense / Time Entry" Inquire

    @ST-02
    Scenario: Without Time Entry Add a confirmed new time entry is denied
      Given an API member whose role grants:
        | function                    | add  | edit | inquire |
        | Time & Expense / Time Entry | None | All  | All     |
        | System / Table Setup        | None | None | All     |
      When the AI asks to create a time entry with:
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | timeStart    | 2026-10-05T09:00:00Z |
        | timeEnd      | 2026-10-05T09:30:00Z |
        | workType     | Remote Support       |
        | workRole     | Technician           |
        | notes        | Checked VPN logs.    |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Time & Expense / Time Entry" Add
      And nothing was written to ConnectWise

    @ST-02
    Scenario: Without Time Entry Edit a confirmed change to a time entry is denied
      Given an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | None | All     |
      And a time entry "Remote session reviewed" owned by the API member
      When the AI asks to update time entry "Remote session reviewed" with:
        | notes | Reviewed Outlook profile, sign-in logs and MFA. |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Time & Expense / Time Entry" Edit
      And time entry "Remote session reviewed" now has the notes "Remote session: reviewed Outlook profile and sign-in logs."

  Rule: RD-06 work types and work roles must be readable to enter time

    @RD-06
    Scenario Outline: With Table Setup Inquire the AI lists the <catalog>
      Given an API member whose role grants:
        | function             | inquire |
        | System / Table Setup | All     |
      And a <record> "<example>"
      When the AI asks to list <catalog>
      Then the outcome is allowed
      And the result includes the <kind> "<example>"

      Examples:
        | catalog    | record    | kind     | example        |
        | work types | work type | worktype | Remote Support |
        | work roles | work role | workrole | Technician     |

    @RD-06
    Scenario Outline: Without Table Setup the <catalog> are still read, as the developer guide says
      Follows the developer guide (the default): setup tables answer at inquiry level
      without Table Setup.
      Given ConnectWise lets setup tables be read without Table Setup
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      And a <record> "<name>"
      When the AI asks to list <catalog>
      Then the outcome is allowed
      And the result includes the <record> "<name>"

      Examples:
        | catalog    | record    | name         |
        | work types | work type | Bench Repair |
        | work roles | work role | Dispatcher   |

    @RD-06
    Scenario: With Service Desk rights only required, work types are read without Table Setup
      Follows the report that a board-status 403 came from missing Service Desk rights:
      only the service desk's setup tables need them.
      Given ConnectWise lets setup tables be read with Service Desk rights only
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      And a work type "Bench Repair"
      When the AI asks to list work types
      Then the outcome is allowed
      And the result includes the work type "Bench Repair"

    @RD-06
    Scenario Outline: Without Table Setup Inquire the <catalog> cannot be listed
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      When the AI asks to list <catalog>
      Then the outcome is denied
      And the AI is told it needs "System / Table Setup" Inquire

      Examples:
        | catalog    |
        | work types |
        | work roles |

    @RD-06
    Scenario: Without Table Setup Inquire a time entry is denied before anything is written
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      When the AI asks to create a time entry with:
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | timeStart    | 2026-10-05T09:00:00Z |
        | timeEnd      | 2026-10-05T09:30:00Z |
        | workType     | Remote Support       |
        | workRole     | Technician           |
        | notes        | Checked VPN logs.    |
      Then the outcome is denied
      And the AI is told "cannot check the work type"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write

    @RD-06
    Scenario: Without Table Setup Inquire a time entry's work role cannot be changed
      Follows the newer document, whose setup advice has setup tables read with Table
      Setup Inquire (the developer guide has them readable without it).
      Given ConnectWise lets setup tables be read with Table Setup Inquire only
      And an API member whose role grants:
        | function                    | add | edit | inquire |
        | Time & Expense / Time Entry | All | All  | All     |
      And a time entry "Remote session reviewed" owned by the API member
      When the AI asks to update time entry "Remote session reviewed" with:
        | workRole | Senior Engineer |
      Then the outcome is denied
      And the AI is told "cannot check the work role"
      And the AI is told it needs "System / Table Setup" Inquire
      And ConnectWise received no write
      And time entry "Remote session reviewed" now has the workRole "Technician"

    @RD-06
    Scenario: With Table Setup Inquire a work type that does not exist is rejected
      Given an API member whose role grants:
        | function                    | add  | edit | inquire |
        | Time & Expense / Time Entry | All  | All  | All     |
        | System / Table Setup        | None | None | All     |
      When the AI asks to create a time entry with:
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | timeStart    | 2026-10-05T09:00:00Z |
        | timeEnd      | 2026-10-05T09:30:00Z |
        | workType     | Gardening            |
        | workRole     | Technician           |
      Then the outcome is rejected
      And the AI is told "There is no work type"
      And ConnectWise received no write

  Rule: ST-03 agreement lookup needs Agreements Inquire; agreement changes need Add or Edit and a billing review

    Background:
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Finance / Agreements            | All  | All  | None   | All     |

    @ST-03
    Scenario: With Agreements Inquire the AI looks up a customer's agreements
      Given an agreement "Acme - Managed Services"
      When the AI asks to list agreements
      Then the outcome is allowed
      And the result includes the agreement "Acme - Managed Services"
      When the AI asks to get agreement "Acme - Managed Services"
      Then the outcome is allowed
      And the result includes the agreement "Acme - Managed Services"
      And ConnectWise received no write

    @ST-03
    Scenario: Without Agreements Inquire agreement lookup is denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
      And an agreement "Acme - Managed"
      When the AI asks to list agreements
      Then the outcome is denied
      And the AI is told it needs "Finance / Agreements" Inquire
      When the AI asks to get agreement "Acme - Managed"
      Then the outcome is denied
      And the AI is told it has no access

    @ST-03 @writes
    Scenario: A new agreement is held for billing review, then created with Agreements Add
      When the AI asks to create an agreement with:
        | name    | Globex - Backup Services |
        | type    | {"id": 1}                |
        | company | Globex                   |
      Then the outcome is escalated
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @ST-03 @writes
    Scenario: A change to an agreement is held for billing review, then made with Agreements Edit
      Given an agreement "Acme - Managed"
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO | PO-2026-17 |
      Then the outcome is escalated
      And agreement "Acme - Managed" now has the customerPO "ACME-PO-4471"
      When the person confirms
      Then the outcome is allowed
      And agreement "Acme - Managed" now has the customerPO "PO-2026-17"

    @ST-03 @writes
    Scenario: A new agreement addition is held for billing review, then added with Agreements Add
      Given an agreement "Acme - Managed" with:
        | billExpenses | Billable |
        | billProducts | Billable |
      When the AI asks to add an addition to agreement "Acme - Managed" with:
        | product      | {"id": 12} |
        | quantity     | 2          |
        | billCustomer | Billable   |
      Then the outcome is escalated
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @ST-03 @writes
    Scenario: A change to an agreement addition is held for billing review, then made with Agreements Edit
      Given an agreement "Acme - Managed"
      And an addition "Managed Workstation" of agreement "Acme - Managed"
      When the AI asks to update an addition of agreement "Acme - Managed" with:
        | id       | addition "Managed Workstation" |
        | quantity | 26  |
      Then the outcome is escalated
      And addition "Managed Workstation" now has the quantity "25.0"
      When the person confirms
      Then the outcome is allowed
      And addition "Managed Workstation" now has the quantity "26"

    @ST-03
    Scenario: With Agreements Inquire only, confirmed agreement changes are denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Finance / Agreements            | All     |
      And an agreement "Acme - Managed"
      When the AI asks to create an agreement with:
        | name    | Globex - Backup Services |
        | type    | {"id": 1}                |
        | company | Globex                   |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Finance / Agreements" Add
      When the AI asks to update agreement "Acme - Managed" with:
        | customerPO | PO-2026-17 |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Finance / Agreements" Edit
      And agreement "Acme - Managed" now has the customerPO "ACME-PO-4471"
      And nothing was written to ConnectWise

    @ST-03
    Scenario: With Agreements Inquire only, confirmed addition changes are denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Finance / Agreements            | All     |
      And an agreement "Acme - Managed"
      And an addition "Managed Workstation" of agreement "Acme - Managed"
      When the AI asks to add an addition to agreement "Acme - Managed" with:
        | product      | {"id": 12} |
        | quantity     | 2          |
        | billCustomer | Billable   |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Finance / Agreements" Add
      When the AI asks to update an addition of agreement "Acme - Managed" with:
        | id       | addition "Managed Workstation" |
        | quantity | 26  |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Finance / Agreements" Edit
      And addition "Managed Workstation" now has the quantity "25.0"
      And nothing was written to ConnectWise

  Rule: ST-04 expenses and purchase orders need their write permissions and a billing review

    Background:
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Time & Expense / Expense Report Entry  | All  | All  | None   | All     |
        | Procurement / Purchase Orders   | All  | All  | None   | All     |

    @ST-04 @writes
    Scenario: A new expense is held for billing review, then entered once confirmed
      When the AI asks to create an expense with:
        | amount       | 18.5                 |
        | date         | 2026-10-05T00:00:00Z |
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | company      | Acme                 |
        | notes        | Courier fee          |
      Then the outcome is escalated
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @ST-04 @writes
    Scenario: A new purchase order is held for billing review, then created once confirmed
      When the AI asks to create a purchase order with:
        | vendorCompany | {"id": 23}                 |
        | internalNotes | Docking station for Globex |
      Then the outcome is escalated
      And ConnectWise received no write
      When the person confirms
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @ST-04 @writes
    Scenario Outline: A change to <record> is held for billing review, then made once confirmed
      Given an expense entry "Courier fee"
      And a purchase order "Laptop order"
      When the AI asks to <change> with:
        | <field> | <value> |
      Then the outcome is escalated
      And the confirmation names the fields "<field>"
      And <record> now has the <field> "<before>"
      When the person confirms
      Then the outcome is allowed
      And <record> now has the <field> "<value>"

      Examples:
        | change                               | record                        | field         | before                                      | value                          |
        | update expense "Courier fee"         | expense entry "Courier fee"   | notes         | Courier fee for laptop delivery to Initech. | Courier fee (receipt attached) |
        | update purchase order "Laptop order" | purchase order "Laptop order" | internalNotes | Laptop for a ticket.                        | Expedite                       |

    @ST-04
    Scenario: With Inquire only, confirmed new expenses and purchase orders are denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Time & Expense / Expense Report Entry  | All     |
        | Procurement / Purchase Orders   | All     |
      When the AI asks to create an expense with:
        | amount       | 18.5                 |
        | date         | 2026-10-05T00:00:00Z |
        | chargeToId   | 1004                 |
        | chargeToType | ServiceTicket        |
        | company      | Acme                 |
        | notes        | Courier fee          |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Time & Expense / Expense Report Entry" Add
      When the AI asks to create a purchase order with:
        | vendorCompany | {"id": 23}                 |
        | internalNotes | Docking station for Globex |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Procurement / Purchase Orders" Add
      And nothing was written to ConnectWise

    @ST-04
    Scenario Outline: With Inquire only, a confirmed change to <record> is denied
      Given an API member whose role grants:
        | function                       | inquire |
        | Time & Expense / Expense Report Entry | All     |
        | Procurement / Purchase Orders  | All     |
      And an expense entry "Courier fee"
      And a purchase order "Laptop order"
      When the AI asks to <change> with:
        | <field> | <value> |
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "<function>" Edit
      And <record> now has the <field> "<before>"

      Examples:
        | change                               | record                        | field         | before                                      | value                          | function                              |
        | update expense "Courier fee"         | expense entry "Courier fee"   | notes         | Courier fee for laptop delivery to Initech. | Courier fee (receipt attached) | Time & Expense / Expense Report Entry |
        | update purchase order "Laptop order" | purchase order "Laptop order" | internalNotes | Laptop for a ticket.                        | Expedite                       | Procurement / Purchase Orders         |

  Rule: OV-02 None, My and All mean the same for Add, Edit and Delete as for Inquire

    @OV-02 @writes
    Scenario: With Time Entry Delete My the AI deletes its own time entry once confirmed, but not a colleague's
      Given an API member whose role grants:
        | function                    | add | edit | delete | inquire |
        | Time & Expense / Time Entry | All | All  | My     | All     |
      And a time entry "Remote session reviewed" owned by the API member
      And a time entry "Onsite reproduced tray" owned by another member
      When the AI asks to delete time entry "Remote session reviewed"
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And time entry "Remote session reviewed" no longer exists
      When the AI asks to delete time entry "Onsite reproduced tray"
      Then the outcome is escalated
      When the person confirms
      Then the outcome is denied
      And the AI is told it needs "Time & Expense / Time Entry" Delete
      And time entry "Onsite reproduced tray" still exists

    @OV-02 @writes
    Scenario: With Time Entry Delete All a colleague's time entry is deleted once confirmed
      Given an API member whose role grants:
        | function                    | add | edit | delete | inquire |
        | Time & Expense / Time Entry | All | All  | All    | All     |
      And a time entry "Onsite reproduced tray" owned by another member
      When the AI asks to delete time entry "Onsite reproduced tray"
      Then the outcome is escalated
      When the person confirms
      Then the outcome is allowed
      And time entry "Onsite reproduced tray" no longer exists

    @OV-02 @writes
    Scenario: With Resource Scheduling Edit My the AI moves its own appointment, but not a colleague's
      Given an API member whose role grants:
        | function                           | add | edit | inquire |
        | Service Desk / Resource Scheduling | All | My   | All     |
      And a schedule entry "Acme Corporation Outlook" owned by the API member with:
        | dateStart | 2026-10-02T15:00:00Z |
        | dateEnd   | 2026-10-02T15:30:00Z |
      And a schedule entry "Acme Corporation VPN" owned by another member
      When the AI asks to update schedule entry "Acme Corporation Outlook" with:
        | dateStart | 2026-10-02T16:00:00Z |
        | dateEnd   | 2026-10-02T16:30:00Z |
      Then the outcome is allowed
      And schedule entry "Acme Corporation Outlook" now has the dateStart "2026-10-02T16:00:00Z"
      When the AI asks to update schedule entry "Acme Corporation VPN" with:
        | dateStart | 2026-10-03T17:00:00Z |
        | dateEnd   | 2026-10-03T18:00:00Z |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Resource Scheduling" Edit
      And schedule entry "Acme Corporation VPN" now has the dateStart "2026-10-03T16:00:00Z"

    @OV-02 @writes
    Scenario: With Resource Scheduling Add My the AI books an appointment for itself, but not for a colleague
      Given an API member whose role grants:
        | function                           | add  | edit | inquire |
        | Service Desk / Resource Scheduling | My   | None | All     |
        | System / Member Maintenance        | None | None | All     |
      When the AI asks to schedule a technician with:
        | objectId  | 1004                 |
        | type      | {"id": 4}            |
        | dateStart | 2026-10-06T15:00:00Z |
        | dateEnd   | 2026-10-06T16:00:00Z |
        | name      | Acme VPN follow-up   |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to schedule a technician with:
        | objectId  | 1004                 |
        | type      | {"id": 4}            |
        | member    | jsmith               |
        | dateStart | 2026-10-06T15:00:00Z |
        | dateEnd   | 2026-10-06T16:00:00Z |
        | name      | Acme VPN follow-up   |
      Then the outcome is denied
      And the AI is told it needs "Service Desk / Resource Scheduling" Add

    @OV-02
    Scenario: With Time Entry Inquire My the AI sees only its own time entries
      Given an API member whose role grants:
        | function                    | inquire |
        | Time & Expense / Time Entry | My      |
      And a time entry "Remote session" owned by the API member
      And a time entry "Site visit" owned by another member
      When the AI asks to list time entries
      Then the outcome is allowed
      And the result includes the entry "Remote session"
      And the result does not include the entry "Site visit"
