Feature: Connecting to ConnectWise and explaining 401 and 403 errors
  The integration signs in as a dedicated API member. When ConnectWise refuses the
  credentials (401) or the security role refuses an operation (403), the AI must be told
  what went wrong and what a person should check, instead of a bare failure.

  Rule: LP-01 connecting needs company lookup

    @LP-01 @CL-02
    Scenario: A role with company lookup connects and lists the companies to associate
      Given an API member with the role "read-only-discovery"
      And a company "Acme Corporation"
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed
      And the result includes the company "Acme Corporation"
      And ConnectWise received no write

    @LP-01 @mock-only
    Scenario: Connecting lists every company to associate, however many pages it takes
      Given an API member with the role "customer-sync"
      And ConnectWise holds 1,200 companies, more than fit on one page
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed
      And the result includes every company ConnectWise holds
      And ConnectWise was asked for every page of the companies, at most 1,000 a page

    @LP-01 @LP-02
    Scenario: The 15 rows of the older table alone cannot list the companies to associate
      Given an API member whose role grants:
        | function                                | add | edit | delete | inquire |
        | Companies / Configurations              | All | All  | None   | All     |
        | Companies / Contacts                    | All | All  | All    | All     |
        | Service Desk / Service Tickets          | All | None | None   | None    |
        | Time & Expense / Time Entry             | All | All  | My     | All     |
        | System / Table Setup                    | All | None | None   | All     |
      When the AI asks to connect to ConnectWise
      Then the outcome is denied
      And the AI is told "the companies to associate cannot be listed"
      And the AI is told it needs "Companies / Company Maintenance" Inquire

    @LP-01
    Scenario: The least-privilege role adds company lookup to the 15 rows, and connects with it
      Given an API member with the role "least-privilege"
      When the AI asks to connect to ConnectWise
      Then the outcome is allowed
      And ConnectWise reports "Companies / Company Maintenance" as Add None, Edit None, Delete None and Inquire All

  Rule: TS-01 wrong credentials give unauthenticated and say what to re-check

    @TS-01
    Scenario Outline: A wrong <setting> is refused with a reason
      Given an API member with the role "least-privilege"
      And the integration is configured with a wrong <setting>
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated
      And the AI is told "Re-check the Company ID, Public Key, Private Key, Client ID and the ConnectWise URL"
      And ConnectWise received no write

      Examples:
        | setting         |
        | company ID      |
        | public key      |
        | private key     |
        | client ID       |

    @TS-01 @mock-only
    Scenario: A wrong ConnectWise URL is refused with a reason
      Given an API member with the role "least-privilege"
      And the integration is configured with a wrong ConnectWise URL
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated
      And the AI is told "Re-check the Company ID, Public Key, Private Key, Client ID and the ConnectWise URL"
      And ConnectWise received no write

    @TS-01
    Scenario: A missing client ID is refused like a wrong one
      Given an API member with the role "least-privilege"
      And the integration sends no client ID
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated

    @TS-01
    Scenario Outline: Bad credentials answered with <shape> are explained the same way
      ConnectWise's refusal of credentials has more than one shape: clients report a 401
      "Unauthorized", a 401 "UserNotAuthenticated", and the developer guide warns that a
      cloud site may answer 404 instead. Each must reach the AI as a sign-in failure.
      Given ConnectWise answers bad credentials with <shape>
      And an API member with the role "least-privilege"
      And the integration is configured with a wrong private key
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated
      And the AI is told "Authentication failed (<status>)"
      And the AI is told "Re-check the Company ID, Public Key, Private Key, Client ID and the ConnectWise URL"
      And ConnectWise received no write

      Examples:
        | shape                    | status |
        | 401 Unauthorized         | 401    |
        | 401 UserNotAuthenticated | 401    |
        | 404, as a cloud site may | 404    |

    @TS-01 @mock-only
    Scenario: A site that requires SSL refuses plain http, and the AI is told to fix the URL
      The developer guide: over http ConnectWise answers "SSL is required" whatever the
      credentials, so the URL is what to re-check, not the role.
      Given ConnectWise requires SSL and the integration's URL is plain http
      And an API member with the role "least-privilege"
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated
      And the AI is told "SSL is required"
      And the AI is told "Re-check the ConnectWise URL: it must start with https://"
      And ConnectWise received no write

    @TS-01
    Scenario: On a site answering bad credentials with 404, a missing record is still a missing record
      Given ConnectWise answers bad credentials with 404, as a cloud site may
      And an API member with the role "read-only-discovery"
      And a service ticket "Gone" that ConnectWise does not hold
      When the AI asks to get ticket "Gone"
      Then the outcome is failed
      And the AI is told "not found"

  Rule: TS-02 the company ID is the sign-in company code

    @TS-02
    Scenario: A numeric company record ID in place of the company code fails, and the AI is told why
      Given an API member with the role "least-privilege"
      And the integration is configured with the company record ID 19 as its company ID
      When the AI asks to connect to ConnectWise
      Then the outcome is unauthenticated
      And the AI is told "must be the sign-in company code, not a numeric company record ID"

  Rule: TS-03 a valid member without the permission is denied, with the module and level named

    @TS-03 @LP-03
    Scenario: Creating a ticket without Service Tickets Add names the permission needed
      Given an API member with the role "read-only-discovery"
      When the AI asks to create a service ticket with:
        | summary | Printer on fire |
        | company | Acme            |
      Then the outcome is denied
      And the AI is told it has no access
      And the AI is told it needs "Service Desk / Service Tickets" Add
      And nothing was written to ConnectWise

    @TS-03
    Scenario: Listing contacts without Contacts Inquire names the permission needed
      Given an API member with the role "no-access"
      When the AI asks to search contacts "Doe"
      Then the outcome is denied
      And the AI is told it needs "Companies / Contacts" Inquire
