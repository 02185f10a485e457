Feature: Projects, sales, configurations, procurement and documents
  Beyond the service desk the AI reads projects and keeps project tickets moving, works the
  sales pipeline, records customers' devices as configurations, looks up and orders products,
  and attaches files to tickets. Each area has its own security functions: Inquire lets the
  AI look, Add and Edit let it create and change records. Without them ConnectWise refuses,
  and the AI is told which permission is missing.

  Rule: PS-01 Project Headers, Project Phase and Project Tickets control reading projects and working their tickets

    Background:
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Project / Project Headers       | None | None | None   | All     |
        | Project / Project Phase        | None | None | None   | All     |
        | Project / Project Tickets       | All  | All  | None   | All     |

    @PS-01
    Scenario: The AI reads a project, its phases and its tickets
      Given a project "File Server Migration"
      And a project phase "Planning" of project "File Server Migration"
      And a project phase "Cutover" of project "File Server Migration" with:
        | description | Cutover |
        | wbsCode     | 2       |
      And a project ticket "Inventory file shares"
      When the AI asks to list projects
      Then the outcome is allowed
      And the result includes the project "File Server Migration"
      When the AI asks to get project "File Server Migration"
      Then the outcome is allowed
      And the result includes the project "File Server Migration"
      When the AI asks to list the phases of project "File Server Migration"
      Then the outcome is allowed
      And the result includes the phase "Planning"
      And the result includes the phase "Cutover"
      When the AI asks to list project tickets
      Then the outcome is allowed
      And the result includes the ticket "Inventory file shares"
      And ConnectWise received no write

    @PS-01 @writes
    Scenario: With Project Tickets Edit the AI updates a project ticket
      Given a project ticket "Inventory current file" owned by another member
      When the AI asks to update project ticket "Inventory current file" with:
        | summary | Inventory file shares, permissions and owners |
      Then the outcome is allowed
      And ConnectWise received one PATCH request, answered 200

    @PS-01 @writes
    Scenario: With Project Tickets Add the AI adds a ticket to a phase of the project
      Given a project "File Server Migration"
      And a project phase "Migration" of project "File Server Migration"
      When the AI asks to create a project ticket with:
        | summary | Map drive letters to SharePoint libraries |
        | project | {"id": project "File Server Migration"}   |
        | phase   | {"id": project phase "Migration"}         |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the project ticket just created now has the summary "Map drive letters to SharePoint libraries"

    @PS-01
    Scenario Outline: Without <needed> Inquire, <doing> is denied
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | <granted>                       | All     |
      And a project "File Server Migration"
      When the AI asks to <action>
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "<needed>" Inquire

      Examples:
        | doing                      | action                                                 | granted                   | needed                    |
        | listing projects           | list projects                                          | Project / Project Tickets | Project / Project Headers |
        | reading a project          | get project "File Server Migration"                    | Project / Project Tickets | Project / Project Headers |
        | listing a project's phases | list the phases of project "File Server Migration"     | Project / Project Headers | Project / Project Phase   |
        | listing project tickets    | list project tickets                                   | Project / Project Headers | Project / Project Tickets |

    @PS-01
    Scenario: With Project Tickets Inquire only, project tickets cannot be changed or added
      Given an API member whose role grants:
        | function                  | inquire |
        | Project / Project Headers | All     |
        | Project / Project Phase  | All     |
        | Project / Project Tickets | All     |
      And a project ticket "Inventory current file" owned by another member
      When the AI asks to update project ticket "Inventory current file" with:
        | summary | Inventory file shares, permissions and owners |
      Then the outcome is denied
      And the AI is told it needs "Project / Project Tickets" Edit
      When the AI asks to create a project ticket with:
        | summary | Map drive letters to SharePoint libraries |
        | project | {"id": 701}                               |
        | phase   | {"id": 752}                               |
      Then the outcome is denied
      And the AI is told it needs "Project / Project Tickets" Add
      And nothing was written to ConnectWise

  Rule: PS-02 Opportunity and CRM/Sales Activities control searching, creating and updating sales records

    Background:
      Given an API member whose role grants:
        | function                        | add  | edit | delete | inquire |
        | Companies / Company Maintenance | None | None | None   | All     |
        | Sales / Opportunity             | All  | All  | None   | All     |
        | Companies / CRM/Sales Activities        | All  | All  | None   | All     |

    @PS-02
    Scenario: The AI searches the sales pipeline and its activities
      Given an opportunity "Globex upsell" with:
        | name | Globex - Managed Security Upsell |
      And an activity "Quote review meeting"
      When the AI asks to search opportunities "Globex"
      Then the outcome is allowed
      And the result includes the opportunity "Globex upsell"
      When the AI asks to list activities
      Then the outcome is allowed
      And the result includes the activity "Quote review meeting"
      And ConnectWise received no write

    @PS-02 @writes
    Scenario: The AI opens an opportunity and logs a follow-up activity
      When the AI asks to create an opportunity with:
        | name    | Initech - Backup Upgrade |
        | company | Initech                  |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to create an activity with:
        | name    | Call Bill about the backup upgrade |
        | company | Initech                            |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201

    @PS-02 @writes
    Scenario Outline: The AI updates <record>
      Given an opportunity "Acme - File" owned by another member with:
        | notes | Follow-up to the file server outage; quote for new hardware plus migration. |
      And an activity "Quote review meeting" owned by another member with:
        | opportunity | {"id": 601, "name": "Acme - File Server Replacement"} |
        | notes       | Review server replacement quote with Jane.            |
      When the AI asks to <change> with:
        | notes | <notes> |
      Then the outcome is allowed
      And <record> now has the notes "<notes>"

      Examples:
        | change                  | record           | notes                              |
        | update opportunity "Acme - File" | opportunity "Acme - File" | Customer asked for a second quote. |
        | update activity "Quote review meeting"    | activity "Quote review meeting"    | Moved to Thursday.                 |

    @PS-02
    Scenario: Without Opportunity and CRM/Sales Activities Inquire the pipeline cannot be searched
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
      When the AI asks to search opportunities "Globex"
      Then the outcome is denied
      And the AI is told it needs "Sales / Opportunity" Inquire
      When the AI asks to list activities
      Then the outcome is denied
      And the AI is told it needs "Companies / CRM/Sales Activities" Inquire

    @PS-02
    Scenario: With Inquire only, sales records cannot be created or updated
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Sales / Opportunity             | All     |
        | Companies / CRM/Sales Activities        | All     |
      And an opportunity "Acme - File" owned by another member with:
        | notes | Follow-up to the file server outage; quote for new hardware plus migration. |
      And an activity "Quote review meeting" owned by another member with:
        | opportunity | {"id": 601, "name": "Acme - File Server Replacement"} |
        | notes       | Review server replacement quote with Jane.            |
      When the AI asks to create an opportunity with:
        | name    | Initech - Backup Upgrade |
        | company | Initech                  |
      Then the outcome is denied
      And the AI is told it needs "Sales / Opportunity" Add
      When the AI asks to update opportunity "Acme - File" with:
        | notes | Customer asked for a second quote. |
      Then the outcome is denied
      And the AI is told it needs "Sales / Opportunity" Edit
      When the AI asks to create an activity with:
        | name    | Call Bill about the backup upgrade |
        | company | Initech                            |
      Then the outcome is denied
      And the AI is told it needs "Companies / CRM/Sales Activities" Add
      When the AI asks to update activity "Quote review meeting" with:
        | notes | Moved to Thursday. |
      Then the outcome is denied
      And the AI is told it needs "Companies / CRM/Sales Activities" Edit
      And nothing was written to ConnectWise

  Rule: OV-02 Edit My lets the AI change only the sales records it owns

    @OV-02 @writes
    Scenario Outline: With <function> Edit My, <own> can be changed but <other> cannot
      Given an API member whose role grants:
        | function   | edit | inquire |
        | <function> | My   | All     |
      And an activity "Follow-up call managed" owned by the API member with:
        | opportunity | {"id": 602, "name": "Globex - Managed Security Upsell"} |
        | notes       | Walk Hank through the managed security bundle.          |
      And an activity "Quote review meeting" owned by another member with:
        | opportunity | {"id": 601, "name": "Acme - File Server Replacement"} |
        | notes       | Review server replacement quote with Jane.            |
      And an opportunity "Globex - Managed" owned by the API member with:
        | notes | Opportunity raised by the AI integration from ticket trends (phishing, printer, Wi-Fi). |
      And an opportunity "Acme - File" owned by another member with:
        | notes | Follow-up to the file server outage; quote for new hardware plus migration. |
      When the AI asks to update <own> with:
        | notes | <notes> |
      Then the outcome is allowed
      And <own> now has the notes "<notes>"
      When the AI asks to update <other> with:
        | notes | <notes> |
      Then the outcome is denied
      And the AI is told it needs "<function>" Edit
      And <other> now has the notes "<kept>"

      Examples:
        | function                 | own              | other            | notes              | kept                                                                        |
        | Companies / CRM/Sales Activities | activity "Follow-up call managed"    | activity "Quote review meeting"    | Moved to Thursday. | Review server replacement quote with Jane.                                  |
        | Sales / Opportunity      | opportunity "Globex - Managed" | opportunity "Acme - File" | Second quote sent. | Follow-up to the file server outage; quote for new hardware plus migration. |

  Rule: PS-03 Configurations Inquire gives device context; Add and Edit create and change configuration items

    @PS-03
    Scenario: With the least-privilege role the AI looks up a customer's devices
      Given an API member with the role "least-privilege"
      And a configuration "ACME-FS01" with:
        | name | ACME-FS01 |
      When the AI asks to search configurations "ACME"
      Then the outcome is allowed
      And the result includes the configuration "ACME-FS01"
      And ConnectWise received no write

    @PS-03 @writes
    Scenario: With the least-privilege role the AI records a new device and updates another
      Given an API member with the role "least-privilege"
      And a configuration "ACME-WS-014"
      When the AI asks to create a configuration with:
        | name    | GLOBEX-FW-02 |
        | type    | {"id": 3}    |
        | company | Globex       |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to update configuration "ACME-WS-014" with:
        | ipAddress | 10.19.1.115 |
      Then the outcome is allowed
      And configuration "ACME-WS-014" now has the ipAddress "10.19.1.115"

    @PS-03
    Scenario: With Configurations Inquire only, devices can be looked up but not created or changed
      Given an API member whose role grants:
        | function                        | inquire |
        | Companies / Company Maintenance | All     |
        | Companies / Configurations      | All     |
      And a configuration "ACME-WS-014"
      When the AI asks to search configurations "ACME"
      Then the outcome is allowed
      When the AI asks to create a configuration with:
        | name    | GLOBEX-FW-02 |
        | type    | {"id": 3}    |
        | company | Globex       |
      Then the outcome is denied
      And the AI is told it needs "Companies / Configurations" Add
      When the AI asks to update configuration "ACME-WS-014" with:
        | ipAddress | 10.19.1.115 |
      Then the outcome is denied
      And the AI is told it needs "Companies / Configurations" Edit
      And configuration "ACME-WS-014" now has the ipAddress "10.19.1.114"
      And nothing was written to ConnectWise

    @PS-03
    Scenario: Without Configurations Inquire devices cannot be looked up
      Given an API member with the role "read-only-discovery"
      When the AI asks to search configurations "ACME"
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Companies / Configurations" Inquire

  Rule: PS-04 Product Catalog and Products Inquire give product lookup; Add and Edit manage procurement records

    Background:
      Given an API member whose role grants:
        | function                      | add | edit | delete | inquire |
        | Procurement / Product Catalog | All | All  | None   | All     |
        | Procurement / Products        | All | All  | None   | All     |

    @PS-04
    Scenario: The AI looks up the catalog and the products on order
      Given a catalog item "LAPTOP-14" with:
        | identifier  | LAPTOP-14                          |
        | description | 14" Business Laptop i7/16GB/512GB  |
      And a product "Laptop on order"
      When the AI asks to search the product catalog "Laptop"
      Then the outcome is allowed
      And the result includes the item "LAPTOP-14"
      When the AI asks to list products
      Then the outcome is allowed
      And the result includes the product "Laptop on order"
      And ConnectWise received no write

    @PS-04 @writes
    Scenario: The AI adds a product for a customer and changes the quantity of another
      Given a product "14 Business Laptop"
      When the AI asks to add a product with:
        | catalogItem    | {"id": 13} |
        | billableOption | Billable   |
        | quantity       | 20         |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to update product "14 Business Laptop" with:
        | quantity | 2 |
      Then the outcome is allowed
      And product "14 Business Laptop" now has the quantity "2"

    @PS-04 @writes
    Scenario: The AI adds a catalog item and changes a price
      Given a catalog item "Managed Workstation" with:
        | identifier | MS-WKS |
      When the AI asks to create a catalog item with:
        | identifier  | DOCK-USB-C            |
        | description | USB-C docking station |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      When the AI asks to update catalog item "Managed Workstation" with:
        | price | 69.0 |
      Then the outcome is allowed
      And catalog item "Managed Workstation" now has the price "69.0"

    @PS-04
    Scenario: With Inquire only, products and catalog items can be looked up but not added or changed
      Given an API member whose role grants:
        | function                      | inquire |
        | Procurement / Product Catalog | All     |
        | Procurement / Products        | All     |
      And a product "14 Business Laptop"
      And a catalog item "Managed Workstation" with:
        | identifier | MS-WKS |
      When the AI asks to search the product catalog "Laptop"
      Then the outcome is allowed
      When the AI asks to add a product with:
        | catalogItem    | {"id": 13} |
        | billableOption | Billable   |
        | quantity       | 20         |
      Then the outcome is denied
      And the AI is told it needs "Procurement / Products" Add
      When the AI asks to update product "14 Business Laptop" with:
        | quantity | 2 |
      Then the outcome is denied
      And the AI is told it needs "Procurement / Products" Edit
      And product "14 Business Laptop" now has the quantity "1.0"
      When the AI asks to create a catalog item with:
        | identifier  | DOCK-USB-C            |
        | description | USB-C docking station |
      Then the outcome is denied
      And the AI is told it needs "Procurement / Product Catalog" Add
      When the AI asks to update catalog item "Managed Workstation" with:
        | price | 69.0 |
      Then the outcome is denied
      And the AI is told it needs "Procurement / Product Catalog" Edit
      And catalog item "Managed Workstation" now has the price "65.0"
      And nothing was written to ConnectWise

    @PS-04
    Scenario Outline: Without Inquire, <lookup> is denied
      Given an API member with the role "read-only-discovery"
      When the AI asks to <lookup>
      Then the outcome is denied
      And the AI is told it needs "<function>" Inquire

      Examples:
        | lookup                              | function                      |
        | search the product catalog "Laptop" | Procurement / Product Catalog |
        | list products                       | Procurement / Products        |

  Rule: PS-05 attaching a file to a ticket needs Manage Attachments Add

    @PS-05 @writes
    Scenario: With the least-privilege role the AI attaches a log file to a ticket
      Given an API member with the role "least-privilege"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to attach a file to ticket "VPN drops every" with:
        | recordType | Ticket            |
        | title      | VPN log           |
        | fileName   | vpn.log           |
        | content    | 10:00 tunnel down |
      Then the outcome is allowed
      And ConnectWise received one POST request, answered 201
      And the document just created now has the title "VPN log"
      And the document just created now has the recordType "Ticket"

    @PS-05
    Scenario: Without Manage Attachments Add the file is not attached
      Given an API member with the role "read-only-discovery"
      And a service ticket "VPN drops every" owned by another member
      When the AI asks to attach a file to ticket "VPN drops every" with:
        | recordType | Ticket            |
        | title      | VPN log           |
        | fileName   | vpn.log           |
        | content    | 10:00 tunnel down |
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Companies / Manage Attachments" Add
      And nothing was written to ConnectWise
