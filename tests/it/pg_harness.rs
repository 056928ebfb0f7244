//! The PostgreSQL test harness itself (`stark::testing`): each call gives its own new, empty
//! database on the `STARK_TEST_PG` server. Without a server the test prints SKIP and passes,
//! except under `CI=true`. `tests/run --test it pg_harness` runs it against a throwaway cluster.

use stark::testing::{pg_test_database, pg_test_server, psql};

/// The database name of a `postgres://…/NAME?…` URL.
fn database_of(url: &str) -> &str {
    let path = url.rsplit_once('/').unwrap().1;
    path.split('?').next().unwrap()
}

#[test]
fn each_call_gives_a_new_empty_database() {
    let label = "pg_harness::each_call_gives_a_new_empty_database";
    let Some(first) = pg_test_database(label) else {
        return;
    };
    let second = pg_test_database(label).unwrap();
    let admin = pg_test_server().unwrap();
    let (a, b) = (database_of(&first), database_of(&second));
    assert_ne!(a, b, "two calls gave one database");
    for name in [a, b] {
        assert!(name.starts_with("stark_t_"), "{name}");
    }

    // Both exist on the server, as new databases among its others.
    let listed = psql(&admin, "SELECT datname FROM pg_database ORDER BY datname");
    let listed: Vec<&str> = listed.lines().collect();
    for name in [a, b] {
        assert!(listed.contains(&name), "{name} not in {listed:?}");
    }
    assert!(listed.contains(&"postgres"), "{listed:?}");

    // Each URL connects to its own database, which has no tables in schema public.
    for (url, name) in [(&first, a), (&second, b)] {
        assert_eq!(psql(url, "SELECT current_database()"), name);
        let tables = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'";
        assert_eq!(psql(url, tables), "0", "{name} is not empty");
    }

    // They are separate: a table made in one is not in the other.
    psql(&first, "CREATE TABLE marker (id integer)");
    let has_marker = "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'marker'";
    assert_eq!(psql(&first, has_marker), "1");
    assert_eq!(psql(&second, has_marker), "0");
}
