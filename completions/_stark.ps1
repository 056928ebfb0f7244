
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'stark' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'stark'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'stark' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the ledger (once, before the first campaign); no other command creates one')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make the secp256k1 key pair whose public half you register at Stark Bank')
            [CompletionResult]::new('issue-invoices', 'issue-invoices', [CompletionResultType]::ParameterValue, 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)')
            [CompletionResult]::new('transfer-credited', 'transfer-credited', [CompletionResultType]::ParameterValue, 'Send each credited invoice''s amount minus fees to Stark Bank S.A., exactly once')
            [CompletionResult]::new('reconcile', 'reconcile', [CompletionResultType]::ParameterValue, 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer')
            [CompletionResult]::new('serve-webhook', 'serve-webhook', [CompletionResultType]::ParameterValue, 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them')
            [CompletionResult]::new('webhook', 'webhook', [CompletionResultType]::ParameterValue, 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the setup: configuration, key, authentication, clock, webhooks, ledger')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the ledger''s history as one stream, oldest first (`--follow` for new entries)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;init' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing config file (the ledger is never replaced)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;keygen' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory for private-key.pem and public-key.pem [default: the config directory]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace existing key files (the old private key is backed up first, mode 600)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before `--force` replaces a key (the question is asked only on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before `--force` replaces a key (the question is asked only on a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;issue-invoices' {
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Interval between batches (new campaigns only) [default: 3h]')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Campaign length (new campaigns only) [default: 24h]')
            [CompletionResult]::new('--campaign-length', '--campaign-length', [CompletionResultType]::ParameterName, 'Campaign length (new campaigns only) [default: 24h]')
            [CompletionResult]::new('--min', '--min', [CompletionResultType]::ParameterName, 'Fewest invoices per batch (new campaigns only) [default: 8]')
            [CompletionResult]::new('--min-invoices', '--min-invoices', [CompletionResultType]::ParameterName, 'Fewest invoices per batch (new campaigns only) [default: 8]')
            [CompletionResult]::new('--max', '--max', [CompletionResultType]::ParameterName, 'Most invoices per batch (new campaigns only) [default: 12]')
            [CompletionResult]::new('--max-invoices', '--max-invoices', [CompletionResultType]::ParameterName, 'Most invoices per batch (new campaigns only) [default: 12]')
            [CompletionResult]::new('--min-amount', '--min-amount', [CompletionResultType]::ParameterName, 'Smallest invoice amount, in reais (new campaigns only) [default: 10,00]')
            [CompletionResult]::new('--max-amount', '--max-amount', [CompletionResultType]::ParameterName, 'Largest invoice amount, in reais (new campaigns only) [default: 1000,00]')
            [CompletionResult]::new('--settle', '--settle', [CompletionResultType]::ParameterName, 'After a POST without a clear answer, how long (business time) to give the bank to apply it before an empty lookup allows sending the batch again')
            [CompletionResult]::new('--retry-batch', '--retry-batch', [CompletionResultType]::ParameterName, 'Reopen a rejected batch once the cause of its refusal is fixed, and send it in this run (looked up by its tag first): its number in the latest campaign, or its tag')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--new-campaign', '--new-campaign', [CompletionResultType]::ParameterName, 'Start a new campaign once the current one is over')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With --new-campaign: start it even while the current one is running')
            [CompletionResult]::new('--catch-up', '--catch-up', [CompletionResultType]::ParameterName, 'Issue slots whose window passed without a run (instead of recording them as missed)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the batch this tick would send (invoices, names, tax ids, amounts, total) and change nothing: the ledger is read, never written, and nothing is sent to the bank')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before `--new-campaign --force` abandons a running campaign (the question is asked only on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before `--new-campaign --force` abandons a running campaign (the question is asked only on a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;transfer-credited' {
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Attempts per credit (a new one only after the bank confirms the previous failed)')
            [CompletionResult]::new('--retry', '--retry', [CompletionResultType]::ParameterName, 'Operator override: one more attempt for this invoice''s credit, which waits for you (its transfers were rejected or all failed); repeatable. `all-waiting`: every credit that waits for you')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the transfers this run would send and their sum, and change nothing: the ledger is read, never written, and nothing is sent to the bank')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before `--retry` sends one more transfer (the question is asked only on a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before `--retry` sends one more transfer (the question is asked only on a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;reconcile' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Event PATCHes in flight at once')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Attempts per credit (see transfer-credited)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--no-transfer', '--no-transfer', [CompletionResultType]::ParameterName, 'Only record what the webhook missed; do not send transfers')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what this run would record (events, credits) and the transfers it would send, and change nothing: the bank is only read (events are not marked delivered, nothing is sent) and the ledger is never written (the run is replayed on a temporary copy)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;serve-webhook' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (loopback by default; ngrok forwards to it)')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'Public HTTPS URL (e.g. an ngrok URL) registered at Stark Bank: exactly as given when it has a path, <URL>/webhook for a bare host; deleted again on shutdown')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Stop by itself after this long (e.g. 30m)')
            [CompletionResult]::new('--webhook-key', '--webhook-key', [CompletionResultType]::ParameterName, 'Verify with this public key instead of fetching Stark Bank''s (SPKI PEM)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--no-transfer', '--no-transfer', [CompletionResultType]::ParameterName, 'Only record; leave transfers to `transfer-credited` / `reconcile`')
            [CompletionResult]::new('--no-register', '--no-register', [CompletionResultType]::ParameterName, 'Register and delete no webhook (replicas behind a load balancer, after `stark webhook ensure`); with --public-url, only its path is served')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;webhook' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ensure', 'ensure', [CompletionResultType]::ParameterValue, 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;webhook;ensure' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Public HTTPS URL of the load balancer: exactly as given when it has a path, <URL>/webhook for a bare host (like `serve-webhook --public-url`)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;webhook;remove' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Only the webhook for this URL (also when the ledger has no record of it)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;webhook;help' {
            [CompletionResult]::new('ensure', 'ensure', [CompletionResultType]::ParameterValue, 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;webhook;help;ensure' {
            break
        }
        'stark;webhook;help;remove' {
            break
        }
        'stark;webhook;help;help' {
            break
        }
        'stark;doctor' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port; the URL is printed first)')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'A project allowed to call the API (repeatable; pair each with a --public-key)')
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'The public key PEM registered for the matching --project-id (repeatable)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for every random choice (payments, delays, fees, ids, faults)')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Business time runs this many times faster than real time (0 freezes it)')
            [CompletionResult]::new('--pay-rate', '--pay-rate', [CompletionResultType]::ParameterName, 'Probability that an invoice gets paid')
            [CompletionResult]::new('--pay-delay', '--pay-delay', [CompletionResultType]::ParameterName, 'Delay from creation to payment, business time (e.g. 5m..15m)')
            [CompletionResult]::new('--invoice-fee', '--invoice-fee', [CompletionResultType]::ParameterName, 'Invoice fee range; each end in cents or a percentage of the amount (5..1% = 5 cents up to 1%)')
            [CompletionResult]::new('--transfer-fee', '--transfer-fee', [CompletionResultType]::ParameterName, 'Fee debited with each successful transfer, in cents, on top of its amount')
            [CompletionResult]::new('--start-balance', '--start-balance', [CompletionResultType]::ParameterName, 'Balance a fresh sandbox starts with, in cents (0, like a new real sandbox workspace; a saved --state keeps its own)')
            [CompletionResult]::new('--max-skew', '--max-skew', [CompletionResultType]::ParameterName, 'Allowed difference between Access-Time and this machine''s clock, in seconds')
            [CompletionResult]::new('--fault', '--fault', [CompletionResultType]::ParameterName, 'Inject a fault: KIND=RATE or ROUTE:KIND=RATE (repeatable; see the README)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Load state from FILE at start (if it exists); save it periodically and on exit')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Business time at start, RFC 3339 [default: the saved time of --state, else now]')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Sign webhooks with this private key PEM [default: from --state, else a new key]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('clock', 'clock', [CompletionResultType]::ParameterValue, 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)')
            [CompletionResult]::new('pay', 'pay', [CompletionResultType]::ParameterValue, 'Pay and credit invoices now (their webhook events follow)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`')
            [CompletionResult]::new('flush', 'flush', [CompletionResultType]::ParameterValue, 'Send every due webhook delivery now and wait until they are answered')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;sandbox;clock' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('advance', 'advance', [CompletionResultType]::ParameterValue, 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set business time (RFC 3339)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;sandbox;clock;advance' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox;clock;set' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox;clock;help' {
            [CompletionResult]::new('advance', 'advance', [CompletionResultType]::ParameterValue, 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set business time (RFC 3339)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;sandbox;clock;help;advance' {
            break
        }
        'stark;sandbox;clock;help;set' {
            break
        }
        'stark;sandbox;clock;help;help' {
            break
        }
        'stark;sandbox;pay' {
            [CompletionResult]::new('--amount', '--amount', [CompletionResultType]::ParameterName, 'Amount paid, in cents [default: the invoice''s nominal amount]')
            [CompletionResult]::new('--fee', '--fee', [CompletionResultType]::ParameterName, 'Fee charged, in cents [default: drawn from the sandbox''s --invoice-fee]')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Pay every invoice that is still open (created or overdue)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox;fault' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--add', '--add', [CompletionResultType]::ParameterName, 'Add the rules to the ones in force instead of replacing them')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox;flush' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;sandbox;help' {
            [CompletionResult]::new('clock', 'clock', [CompletionResultType]::ParameterValue, 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)')
            [CompletionResult]::new('pay', 'pay', [CompletionResultType]::ParameterValue, 'Pay and credit invoices now (their webhook events follow)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`')
            [CompletionResult]::new('flush', 'flush', [CompletionResultType]::ParameterValue, 'Send every due webhook delivery now and wait until they are answered')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;sandbox;help;clock' {
            [CompletionResult]::new('advance', 'advance', [CompletionResultType]::ParameterValue, 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set business time (RFC 3339)')
            break
        }
        'stark;sandbox;help;clock;advance' {
            break
        }
        'stark;sandbox;help;clock;set' {
            break
        }
        'stark;sandbox;help;pay' {
            break
        }
        'stark;sandbox;help;fault' {
            break
        }
        'stark;sandbox;help;flush' {
            break
        }
        'stark;sandbox;help;help' {
            break
        }
        'stark;status' {
            [CompletionResult]::new('--stale-minutes', '--stale-minutes', [CompletionResultType]::ParameterName, 'A credit of ours older than this many minutes without a successful transfer needs attention')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows to list with --invoices or --transfers [default: 20]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--invoices', '--invoices', [CompletionResultType]::ParameterName, 'List the most recent invoices instead of the summary')
            [CompletionResult]::new('--transfers', '--transfers', [CompletionResultType]::ParameterName, 'List the most recent transfer attempts instead of the summary')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'For monitors: print the verdict line only; exit 0 all well, 3 something needs you, 1 cannot tell (the ledger cannot be read)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;log' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only entries from this long ago on (e.g. 1h, 2d)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many entries (the latest of them), before following')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing new entries as they are recorded (the ledger is read every second) until Ctrl-C')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new entries as they are recorded (the ledger is read every second) until Ctrl-C')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;completions' {
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;demo' {
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for the sandbox''s payer and faults (same seed, same day)')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Business seconds per real second (2880 runs the 24 hours in 30 seconds)')
            [CompletionResult]::new('--faults', '--faults', [CompletionResultType]::ParameterName, 'How badly the bank behaves')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]')
            [CompletionResult]::new('--project-id', '--project-id', [CompletionResultType]::ParameterName, 'Stark Bank project id [env: STARK_PROJECT_ID]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]')
            [CompletionResult]::new('--environment', '--environment', [CompletionResultType]::ParameterName, '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable JSON output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'stark;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the ledger (once, before the first campaign); no other command creates one')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make the secp256k1 key pair whose public half you register at Stark Bank')
            [CompletionResult]::new('issue-invoices', 'issue-invoices', [CompletionResultType]::ParameterValue, 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)')
            [CompletionResult]::new('transfer-credited', 'transfer-credited', [CompletionResultType]::ParameterValue, 'Send each credited invoice''s amount minus fees to Stark Bank S.A., exactly once')
            [CompletionResult]::new('reconcile', 'reconcile', [CompletionResultType]::ParameterValue, 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer')
            [CompletionResult]::new('serve-webhook', 'serve-webhook', [CompletionResultType]::ParameterValue, 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them')
            [CompletionResult]::new('webhook', 'webhook', [CompletionResultType]::ParameterValue, 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the setup: configuration, key, authentication, clock, webhooks, ledger')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the ledger''s history as one stream, oldest first (`--follow` for new entries)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'stark;help;init' {
            break
        }
        'stark;help;keygen' {
            break
        }
        'stark;help;issue-invoices' {
            break
        }
        'stark;help;transfer-credited' {
            break
        }
        'stark;help;reconcile' {
            break
        }
        'stark;help;serve-webhook' {
            break
        }
        'stark;help;webhook' {
            [CompletionResult]::new('ensure', 'ensure', [CompletionResultType]::ParameterValue, 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error')
            break
        }
        'stark;help;webhook;ensure' {
            break
        }
        'stark;help;webhook;remove' {
            break
        }
        'stark;help;doctor' {
            break
        }
        'stark;help;sandbox' {
            [CompletionResult]::new('clock', 'clock', [CompletionResultType]::ParameterValue, 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)')
            [CompletionResult]::new('pay', 'pay', [CompletionResultType]::ParameterValue, 'Pay and credit invoices now (their webhook events follow)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`')
            [CompletionResult]::new('flush', 'flush', [CompletionResultType]::ParameterValue, 'Send every due webhook delivery now and wait until they are answered')
            break
        }
        'stark;help;sandbox;clock' {
            [CompletionResult]::new('advance', 'advance', [CompletionResultType]::ParameterValue, 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set business time (RFC 3339)')
            break
        }
        'stark;help;sandbox;clock;advance' {
            break
        }
        'stark;help;sandbox;clock;set' {
            break
        }
        'stark;help;sandbox;pay' {
            break
        }
        'stark;help;sandbox;fault' {
            break
        }
        'stark;help;sandbox;flush' {
            break
        }
        'stark;help;status' {
            break
        }
        'stark;help;log' {
            break
        }
        'stark;help;completions' {
            break
        }
        'stark;help;demo' {
            break
        }
        'stark;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
