# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_stark_global_optspecs
    string join \n ledger= config= project-id= private-key= environment= api-url= json q/quiet v/verbose color= h/help V/version
end

function __fish_stark_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_stark_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_stark_using_subcommand
    set -l cmd (__fish_stark_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c stark -n "__fish_stark_needs_command" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_needs_command" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_needs_command" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_needs_command" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_needs_command" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_needs_command" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_needs_command" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_needs_command" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_needs_command" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_needs_command" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_needs_command" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_needs_command" -f -a "init" -d 'Create the ledger (once, before the first campaign); no other command creates one'
complete -c stark -n "__fish_stark_needs_command" -f -a "keygen" -d 'Make the secp256k1 key pair whose public half you register at Stark Bank'
complete -c stark -n "__fish_stark_needs_command" -f -a "issue-invoices" -d 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)'
complete -c stark -n "__fish_stark_needs_command" -f -a "transfer-credited" -d 'Send each credited invoice\'s amount minus fees to Stark Bank S.A., exactly once'
complete -c stark -n "__fish_stark_needs_command" -f -a "reconcile" -d 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer'
complete -c stark -n "__fish_stark_needs_command" -f -a "serve-webhook" -d 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them'
complete -c stark -n "__fish_stark_needs_command" -f -a "webhook" -d 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)'
complete -c stark -n "__fish_stark_needs_command" -f -a "doctor" -d 'Check the setup: configuration, key, authentication, clock, webhooks, ledger'
complete -c stark -n "__fish_stark_needs_command" -f -a "sandbox" -d 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)'
complete -c stark -n "__fish_stark_needs_command" -f -a "status" -d 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you'
complete -c stark -n "__fish_stark_needs_command" -f -a "log" -d 'Show the ledger\'s history as one stream, oldest first (`--follow` for new entries)'
complete -c stark -n "__fish_stark_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout'
complete -c stark -n "__fish_stark_needs_command" -f -a "demo" -d 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator'
complete -c stark -n "__fish_stark_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand init" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand init" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand init" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand init" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand init" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand init" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand init" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand init" -l force -d 'Replace an existing config file (the ledger is never replaced)'
complete -c stark -n "__fish_stark_using_subcommand init" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand init" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand init" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand init" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand init" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand keygen" -l dir -d 'Directory for private-key.pem and public-key.pem [default: the config directory]' -r -F
complete -c stark -n "__fish_stark_using_subcommand keygen" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand keygen" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand keygen" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand keygen" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand keygen" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand keygen" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand keygen" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand keygen" -l force -d 'Replace existing key files (the old private key is backed up first, mode 600)'
complete -c stark -n "__fish_stark_using_subcommand keygen" -s y -l yes -d 'Do not ask before `--force` replaces a key (the question is asked only on a terminal)'
complete -c stark -n "__fish_stark_using_subcommand keygen" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand keygen" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand keygen" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l every -d 'Interval between batches (new campaigns only) [default: 3h]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l for -l campaign-length -d 'Campaign length (new campaigns only) [default: 24h]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l min -l min-invoices -d 'Fewest invoices per batch (new campaigns only) [default: 8]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l max -l max-invoices -d 'Most invoices per batch (new campaigns only) [default: 12]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l min-amount -d 'Smallest invoice amount, in reais (new campaigns only) [default: 10,00]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l max-amount -d 'Largest invoice amount, in reais (new campaigns only) [default: 1000,00]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l settle -d 'After a POST without a clear answer, how long (business time) to give the bank to apply it before an empty lookup allows sending the batch again' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l retry-batch -d 'Reopen a rejected batch once the cause of its refusal is fixed, and send it in this run (looked up by its tag first): its number in the latest campaign, or its tag' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l new-campaign -d 'Start a new campaign once the current one is over'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l force -d 'With --new-campaign: start it even while the current one is running'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l catch-up -d 'Issue slots whose window passed without a run (instead of recording them as missed)'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l dry-run -d 'Show the batch this tick would send (invoices, names, tax ids, amounts, total) and change nothing: the ledger is read, never written, and nothing is sent to the bank'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -s y -l yes -d 'Do not ask before `--new-campaign --force` abandons a running campaign (the question is asked only on a terminal)'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand issue-invoices" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l max-attempts -d 'Attempts per credit (a new one only after the bank confirms the previous failed)' -r
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l retry -d 'Operator override: one more attempt for this invoice\'s credit, which waits for you (its transfers were rejected or all failed); repeatable. `all-waiting`: every credit that waits for you' -r
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l dry-run -d 'Show the transfers this run would send and their sum, and change nothing: the ledger is read, never written, and nothing is sent to the bank'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -s y -l yes -d 'Do not ask before `--retry` sends one more transfer (the question is asked only on a terminal)'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand transfer-credited" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l concurrency -d 'Event PATCHes in flight at once' -r
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l max-attempts -d 'Attempts per credit (see transfer-credited)' -r
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l no-transfer -d 'Only record what the webhook missed; do not send transfers'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l dry-run -d 'Show what this run would record (events, credits) and the transfers it would send, and change nothing: the bank is only read (events are not marked delivered, nothing is sent) and the ledger is never written (the run is replayed on a temporary copy)'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand reconcile" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l listen -d 'Address to listen on (loopback by default; ngrok forwards to it)' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l public-url -d 'Public HTTPS URL (e.g. an ngrok URL) registered at Stark Bank: exactly as given when it has a path, <URL>/webhook for a bare host; deleted again on shutdown' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l for -d 'Stop by itself after this long (e.g. 30m)' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l webhook-key -d 'Verify with this public key instead of fetching Stark Bank\'s (SPKI PEM)' -r -F
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l no-transfer -d 'Only record; leave transfers to `transfer-credited` / `reconcile`'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l no-register -d 'Register and delete no webhook (replicas behind a load balancer, after `stark webhook ensure`); with --public-url, only its path is served'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand serve-webhook" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -f -a "ensure" -d 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -f -a "remove" -d 'Delete this ledger\'s webhooks at Stark Bank (only URL\'s with --url); none is no error'
complete -c stark -n "__fish_stark_using_subcommand webhook; and not __fish_seen_subcommand_from ensure remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l url -d 'Public HTTPS URL of the load balancer: exactly as given when it has a path, <URL>/webhook for a bare host (like `serve-webhook --public-url`)' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from ensure" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l url -d 'Only the webhook for this URL (also when the ledger has no record of it)' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from help" -f -a "ensure" -d 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Delete this ledger\'s webhooks at Stark Bank (only URL\'s with --url); none is no error'
complete -c stark -n "__fish_stark_using_subcommand webhook; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand doctor" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand doctor" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand doctor" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand doctor" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand doctor" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand doctor" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand doctor" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand doctor" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand doctor" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand doctor" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l listen -d 'Address to listen on (port 0 picks a free port; the URL is printed first)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l project-id -d 'A project allowed to call the API (repeatable; pair each with a --public-key)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l public-key -d 'The public key PEM registered for the matching --project-id (repeatable)' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l seed -d 'Seed for every random choice (payments, delays, fees, ids, faults)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l speed -d 'Business time runs this many times faster than real time (0 freezes it)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l pay-rate -d 'Probability that an invoice gets paid' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l pay-delay -d 'Delay from creation to payment, business time (e.g. 5m..15m)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l invoice-fee -d 'Invoice fee range; each end in cents or a percentage of the amount (5..1% = 5 cents up to 1%)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l transfer-fee -d 'Fee debited with each successful transfer, in cents, on top of its amount' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l start-balance -d 'Balance a fresh sandbox starts with, in cents (0, like a new real sandbox workspace; a saved --state keeps its own)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l max-skew -d 'Allowed difference between Access-Time and this machine\'s clock, in seconds' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l fault -d 'Inject a fault: KIND=RATE or ROUTE:KIND=RATE (repeatable; see the README)' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l state -d 'Load state from FILE at start (if it exists); save it periodically and on exit' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l start -d 'Business time at start, RFC 3339 [default: the saved time of --state, else now]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l signing-key -d 'Sign webhooks with this private key PEM [default: from --state, else a new key]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -f -a "clock" -d 'Show a running sandbox\'s business time, or move it (`clock advance 20m`, `clock set T`)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -f -a "pay" -d 'Pay and credit invoices now (their webhook events follow)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -f -a "fault" -d 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -f -a "flush" -d 'Send every due webhook delivery now and wait until they are answered'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and not __fish_seen_subcommand_from clock pay fault flush help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l url -d 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -f -a "advance" -d 'Move business time forward by a duration (20m, 3h, 1h30m); what became due happens'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -f -a "set" -d 'Set business time (RFC 3339)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from clock" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l amount -d 'Amount paid, in cents [default: the invoice\'s nominal amount]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l fee -d 'Fee charged, in cents [default: drawn from the sandbox\'s --invoice-fee]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l url -d 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l all -d 'Pay every invoice that is still open (created or overdue)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from pay" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l url -d 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l add -d 'Add the rules to the ones in force instead of replacing them'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l url -d 'The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from flush" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "clock" -d 'Show a running sandbox\'s business time, or move it (`clock advance 20m`, `clock set T`)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "pay" -d 'Pay and credit invoices now (their webhook events follow)'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "fault" -d 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "flush" -d 'Send every due webhook delivery now and wait until they are answered'
complete -c stark -n "__fish_stark_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand status" -l stale-minutes -d 'A credit of ours older than this many minutes without a successful transfer needs attention' -r
complete -c stark -n "__fish_stark_using_subcommand status" -l limit -d 'Rows to list with --invoices or --transfers [default: 20]' -r
complete -c stark -n "__fish_stark_using_subcommand status" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand status" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand status" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand status" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand status" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand status" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand status" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand status" -l invoices -d 'List the most recent invoices instead of the summary'
complete -c stark -n "__fish_stark_using_subcommand status" -l transfers -d 'List the most recent transfer attempts instead of the summary'
complete -c stark -n "__fish_stark_using_subcommand status" -l check -d 'For monitors: print the verdict line only; exit 0 all well, 3 something needs you, 1 cannot tell (the ledger cannot be read)'
complete -c stark -n "__fish_stark_using_subcommand status" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand status" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand status" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand status" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand status" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand log" -l since -d 'Only entries from this long ago on (e.g. 1h, 2d)' -r
complete -c stark -n "__fish_stark_using_subcommand log" -l limit -d 'At most this many entries (the latest of them), before following' -r
complete -c stark -n "__fish_stark_using_subcommand log" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand log" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand log" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand log" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand log" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand log" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand log" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand log" -s f -l follow -d 'Keep printing new entries as they are recorded (the ledger is read every second) until Ctrl-C'
complete -c stark -n "__fish_stark_using_subcommand log" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand log" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand log" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand log" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand log" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand completions" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand completions" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand completions" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand completions" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand completions" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand completions" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand completions" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand completions" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand completions" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand completions" -s h -l help -d 'Print help'
complete -c stark -n "__fish_stark_using_subcommand completions" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand demo" -l seed -d 'Seed for the sandbox\'s payer and faults (same seed, same day)' -r
complete -c stark -n "__fish_stark_using_subcommand demo" -l speed -d 'Business seconds per real second (2880 runs the 24 hours in 30 seconds)' -r
complete -c stark -n "__fish_stark_using_subcommand demo" -l faults -d 'How badly the bank behaves' -r -f -a "none\t'A well-behaved bank'
light\t'Some dropped, duplicated and reordered deliveries; a few lost responses'
heavy\t'A rough day: many lost responses, 5xx and 429, latency, failing transfers'"
complete -c stark -n "__fish_stark_using_subcommand demo" -l config -d 'Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]' -r -F
complete -c stark -n "__fish_stark_using_subcommand demo" -l project-id -d 'Stark Bank project id [env: STARK_PROJECT_ID]' -r
complete -c stark -n "__fish_stark_using_subcommand demo" -l private-key -d 'Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]' -r -F
complete -c stark -n "__fish_stark_using_subcommand demo" -l environment -d '`sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]' -r
complete -c stark -n "__fish_stark_using_subcommand demo" -l api-url -d 'Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]' -r
complete -c stark -n "__fish_stark_using_subcommand demo" -l ledger -d 'The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]' -r -F
complete -c stark -n "__fish_stark_using_subcommand demo" -l color -d 'When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c stark -n "__fish_stark_using_subcommand demo" -l json -d 'Machine-readable JSON output'
complete -c stark -n "__fish_stark_using_subcommand demo" -s q -l quiet -d 'Print only errors (for cron)'
complete -c stark -n "__fish_stark_using_subcommand demo" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace)'
complete -c stark -n "__fish_stark_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c stark -n "__fish_stark_using_subcommand demo" -s V -l version -d 'Print version'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "init" -d 'Create the ledger (once, before the first campaign); no other command creates one'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "keygen" -d 'Make the secp256k1 key pair whose public half you register at Stark Bank'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "issue-invoices" -d 'Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "transfer-credited" -d 'Send each credited invoice\'s amount minus fees to Stark Bank S.A., exactly once'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "reconcile" -d 'Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "serve-webhook" -d 'Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "webhook" -d 'Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "doctor" -d 'Check the setup: configuration, key, authentication, clock, webhooks, ledger'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "sandbox" -d 'Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "status" -d 'Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "log" -d 'Show the ledger\'s history as one stream, oldest first (`--follow` for new entries)'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "demo" -d 'Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator'
complete -c stark -n "__fish_stark_using_subcommand help; and not __fish_seen_subcommand_from init keygen issue-invoices transfer-credited reconcile serve-webhook webhook doctor sandbox status log completions demo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from webhook" -f -a "ensure" -d 'Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from webhook" -f -a "remove" -d 'Delete this ledger\'s webhooks at Stark Bank (only URL\'s with --url); none is no error'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "clock" -d 'Show a running sandbox\'s business time, or move it (`clock advance 20m`, `clock set T`)'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "pay" -d 'Pay and credit invoices now (their webhook events follow)'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "fault" -d 'Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`'
complete -c stark -n "__fish_stark_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "flush" -d 'Send every due webhook delivery now and wait until they are answered'
