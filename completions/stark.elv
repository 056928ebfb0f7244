
use builtin;
use str;

set edit:completion:arg-completer[stark] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'stark'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'stark'= {
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create the ledger (once, before the first campaign); no other command creates one'
            cand keygen 'Make the secp256k1 key pair whose public half you register at Stark Bank'
            cand issue-invoices 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)'
            cand transfer-credited 'Send each credited invoice''s amount minus fees to Stark Bank S.A., exactly once'
            cand reconcile 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer'
            cand serve-webhook 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them'
            cand webhook 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)'
            cand doctor 'Check the setup: configuration, key, authentication, clock, webhooks, ledger'
            cand sandbox 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)'
            cand status 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you'
            cand log 'Show the ledger''s history as one stream, oldest first (`--follow` for new entries)'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout'
            cand demo 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;init'= {
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --force 'Replace an existing config file (the ledger is never replaced)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;keygen'= {
            cand --dir 'Directory for private-key.pem and public-key.pem [default: the config directory]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --force 'Replace existing key files (the old private key is backed up first, mode 600)'
            cand -y 'Do not ask before `--force` replaces a key (the question is asked only on a terminal)'
            cand --yes 'Do not ask before `--force` replaces a key (the question is asked only on a terminal)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;issue-invoices'= {
            cand --every 'Interval between batches (new campaigns only) [default: 3h]'
            cand --for 'Campaign length (new campaigns only) [default: 24h]'
            cand --campaign-length 'Campaign length (new campaigns only) [default: 24h]'
            cand --min 'Fewest invoices per batch (new campaigns only) [default: 8]'
            cand --min-invoices 'Fewest invoices per batch (new campaigns only) [default: 8]'
            cand --max 'Most invoices per batch (new campaigns only) [default: 12]'
            cand --max-invoices 'Most invoices per batch (new campaigns only) [default: 12]'
            cand --min-amount 'Smallest invoice amount, in reais (new campaigns only) [default: 10,00]'
            cand --max-amount 'Largest invoice amount, in reais (new campaigns only) [default: 1000,00]'
            cand --settle 'After a POST without a clear answer, how long (business time) to give the bank to apply it before an empty lookup allows sending the batch again'
            cand --retry-batch 'Reopen a rejected batch once the cause of its refusal is fixed, and send it in this run (looked up by its tag first): its number in the latest campaign, or its tag'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --new-campaign 'Start a new campaign once the current one is over'
            cand --force 'With --new-campaign: start it even while the current one is running'
            cand --catch-up 'Issue slots whose window passed without a run (instead of recording them as missed)'
            cand --dry-run 'Show the batch this tick would send (invoices, names, tax ids, amounts, total) and change nothing: the ledger is read, never written, and nothing is sent to the bank'
            cand -y 'Do not ask before `--new-campaign --force` abandons a running campaign (the question is asked only on a terminal)'
            cand --yes 'Do not ask before `--new-campaign --force` abandons a running campaign (the question is asked only on a terminal)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;transfer-credited'= {
            cand --max-attempts 'Attempts per credit (a new one only after the bank confirms the previous failed)'
            cand --retry 'Operator override: one more attempt for this invoice''s credit, which waits for you (its transfers were rejected or all failed); repeatable. `all-waiting`: every credit that waits for you'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --dry-run 'Show the transfers this run would send and their sum, and change nothing: the ledger is read, never written, and nothing is sent to the bank'
            cand -y 'Do not ask before `--retry` sends one more transfer (the question is asked only on a terminal)'
            cand --yes 'Do not ask before `--retry` sends one more transfer (the question is asked only on a terminal)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;reconcile'= {
            cand --concurrency 'Event PATCHes in flight at once'
            cand --max-attempts 'Attempts per credit (see transfer-credited)'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --no-transfer 'Only record what the webhook missed; do not send transfers'
            cand --dry-run 'Show what this run would record (events, credits) and the transfers it would send, and change nothing: the bank is only read (events are not marked delivered, nothing is sent) and the ledger is never written (the run is replayed on a temporary copy)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;serve-webhook'= {
            cand --listen 'Address to listen on (loopback by default; ngrok forwards to it)'
            cand --public-url 'Public HTTPS URL (e.g. an ngrok URL) registered at Stark Bank: exactly as given when it has a path, <URL>/webhook for a bare host; deleted again on shutdown'
            cand --for 'Stop by itself after this long (e.g. 30m)'
            cand --webhook-key 'Verify with this public key instead of fetching Stark Bank''s (SPKI PEM)'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --no-transfer 'Only record; leave transfers to `transfer-credited` / `reconcile`'
            cand --no-register 'Register and delete no webhook (replicas behind a load balancer, after `stark webhook ensure`); with --public-url, only its path is served'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;webhook'= {
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ensure 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
            cand remove 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;webhook;ensure'= {
            cand --url 'Public HTTPS URL of the load balancer: exactly as given when it has a path, <URL>/webhook for a bare host (like `serve-webhook --public-url`)'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;webhook;remove'= {
            cand --url 'Only the webhook for this URL (also when the ledger has no record of it)'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;webhook;help'= {
            cand ensure 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
            cand remove 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;webhook;help;ensure'= {
        }
        &'stark;webhook;help;remove'= {
        }
        &'stark;webhook;help;help'= {
        }
        &'stark;doctor'= {
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox'= {
            cand --listen 'Address to listen on (port 0 picks a free port; the URL is printed first)'
            cand --project-id 'A project allowed to call the API (repeatable; pair each with a --public-key)'
            cand --public-key 'The public key PEM registered for the matching --project-id (repeatable)'
            cand --seed 'Seed for every random choice (payments, delays, fees, ids, faults)'
            cand --speed 'Business time runs this many times faster than real time (0 freezes it)'
            cand --pay-rate 'Probability that an invoice gets paid'
            cand --pay-delay 'Delay from creation to payment, business time (e.g. 5m..15m)'
            cand --invoice-fee 'Invoice fee range; each end in cents or a percentage of the amount (5..1% = 5 cents up to 1%)'
            cand --transfer-fee 'Fee debited with each successful transfer, in cents, on top of its amount'
            cand --start-balance 'Balance a fresh sandbox starts with, in cents (0, like a new real sandbox workspace; a saved --state keeps its own)'
            cand --max-skew 'Allowed difference between Access-Time and this machine''s clock, in seconds'
            cand --fault 'Inject a fault: KIND=RATE or ROUTE:KIND=RATE (repeatable; see the README)'
            cand --state 'Load state from FILE at start (if it exists); save it periodically and on exit'
            cand --start 'Business time at start, RFC 3339 [default: the saved time of --state, else now]'
            cand --signing-key 'Sign webhooks with this private key PEM [default: from --state, else a new key]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand clock 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)'
            cand pay 'Pay and credit invoices now (their webhook events follow)'
            cand fault 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
            cand flush 'Send every due webhook delivery now and wait until they are answered'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;sandbox;clock'= {
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand advance 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens'
            cand set 'Set business time (RFC 3339)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;sandbox;clock;advance'= {
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox;clock;set'= {
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox;clock;help'= {
            cand advance 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens'
            cand set 'Set business time (RFC 3339)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;sandbox;clock;help;advance'= {
        }
        &'stark;sandbox;clock;help;set'= {
        }
        &'stark;sandbox;clock;help;help'= {
        }
        &'stark;sandbox;pay'= {
            cand --amount 'Amount paid, in cents [default: the invoice''s nominal amount]'
            cand --fee 'Fee charged, in cents [default: drawn from the sandbox''s --invoice-fee]'
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --all 'Pay every invoice that is still open (created or overdue)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox;fault'= {
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --add 'Add the rules to the ones in force instead of replacing them'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox;flush'= {
            cand --url 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;sandbox;help'= {
            cand clock 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)'
            cand pay 'Pay and credit invoices now (their webhook events follow)'
            cand fault 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
            cand flush 'Send every due webhook delivery now and wait until they are answered'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;sandbox;help;clock'= {
            cand advance 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens'
            cand set 'Set business time (RFC 3339)'
        }
        &'stark;sandbox;help;clock;advance'= {
        }
        &'stark;sandbox;help;clock;set'= {
        }
        &'stark;sandbox;help;pay'= {
        }
        &'stark;sandbox;help;fault'= {
        }
        &'stark;sandbox;help;flush'= {
        }
        &'stark;sandbox;help;help'= {
        }
        &'stark;status'= {
            cand --stale-minutes 'A credit of ours older than this many minutes without a successful transfer needs attention'
            cand --limit 'Rows to list with --invoices or --transfers [default: 20]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --invoices 'List the most recent invoices instead of the summary'
            cand --transfers 'List the most recent transfer attempts instead of the summary'
            cand --check 'For monitors: print the verdict line only; exit 0 all well, 3 something needs you, 1 cannot tell (the ledger cannot be read)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;log'= {
            cand --since 'Only entries from this long ago on (e.g. 1h, 2d)'
            cand --limit 'At most this many entries (the latest of them), before following'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand -f 'Keep printing new entries as they are recorded (the ledger is read every second) until Ctrl-C'
            cand --follow 'Keep printing new entries as they are recorded (the ledger is read every second) until Ctrl-C'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;completions'= {
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;demo'= {
            cand --seed 'Seed for the sandbox''s payer and faults (same seed, same day)'
            cand --speed 'Business seconds per real second (2880 runs the 24 hours in 30 seconds)'
            cand --faults 'How badly the bank behaves'
            cand --config 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]'
            cand --project-id 'Stark Bank project id [env: STARK_PROJECT_ID]'
            cand --private-key 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]'
            cand --environment '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]'
            cand --api-url 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]'
            cand --ledger 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]'
            cand --color 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)'
            cand --json 'Machine-readable JSON output'
            cand -q 'Print only errors (for cron)'
            cand --quiet 'Print only errors (for cron)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'stark;help'= {
            cand init 'Create the ledger (once, before the first campaign); no other command creates one'
            cand keygen 'Make the secp256k1 key pair whose public half you register at Stark Bank'
            cand issue-invoices 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)'
            cand transfer-credited 'Send each credited invoice''s amount minus fees to Stark Bank S.A., exactly once'
            cand reconcile 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer'
            cand serve-webhook 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them'
            cand webhook 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)'
            cand doctor 'Check the setup: configuration, key, authentication, clock, webhooks, ledger'
            cand sandbox 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)'
            cand status 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you'
            cand log 'Show the ledger''s history as one stream, oldest first (`--follow` for new entries)'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout'
            cand demo 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'stark;help;init'= {
        }
        &'stark;help;keygen'= {
        }
        &'stark;help;issue-invoices'= {
        }
        &'stark;help;transfer-credited'= {
        }
        &'stark;help;reconcile'= {
        }
        &'stark;help;serve-webhook'= {
        }
        &'stark;help;webhook'= {
            cand ensure 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
            cand remove 'Delete this ledger''s webhooks at Stark Bank (only URL''s with --url); none is no error'
        }
        &'stark;help;webhook;ensure'= {
        }
        &'stark;help;webhook;remove'= {
        }
        &'stark;help;doctor'= {
        }
        &'stark;help;sandbox'= {
            cand clock 'Show a running sandbox''s business time, or move it (`clock advance 20m`, `clock set T`)'
            cand pay 'Pay and credit invoices now (their webhook events follow)'
            cand fault 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
            cand flush 'Send every due webhook delivery now and wait until they are answered'
        }
        &'stark;help;sandbox;clock'= {
            cand advance 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens'
            cand set 'Set business time (RFC 3339)'
        }
        &'stark;help;sandbox;clock;advance'= {
        }
        &'stark;help;sandbox;clock;set'= {
        }
        &'stark;help;sandbox;pay'= {
        }
        &'stark;help;sandbox;fault'= {
        }
        &'stark;help;sandbox;flush'= {
        }
        &'stark;help;status'= {
        }
        &'stark;help;log'= {
        }
        &'stark;help;completions'= {
        }
        &'stark;help;demo'= {
        }
        &'stark;help;help'= {
        }
    ]
    $completions[$command]
}
