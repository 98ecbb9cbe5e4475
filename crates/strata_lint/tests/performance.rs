//! Linting and rendering stay linear in the size of the input: 20,000 statements must be well under a
//! second in release builds. Debug builds check the growth rate instead of the absolute time.

use std::time::{Duration, Instant};

use strata_lint::report::{render_github, render_human, render_json, render_sarif};
use strata_lint::{Dialect, Migration, Settings, lint_directory};

/// `statements` statements (plus one `CREATE TABLE`), each with a finding, half of them allowed.
fn migration(statements: usize) -> Migration {
    let mut sql = String::from("CREATE TABLE t (id bigint PRIMARY KEY, a int);\n");
    for i in 0..statements / 2 {
        sql.push_str(&format!("-- strata:allow unbatched-update step {i}\nUPDATE t SET a = {i};\nCREATE INDEX t_a_{i} ON big (a);\n"));
    }
    Migration::new("migrations/1_big.up.sql", sql, Dialect::Postgres)
}

fn lint_and_render(statements: usize) -> Duration {
    let migrations = [migration(statements)];
    let start = Instant::now();
    let diagnostics = lint_directory(&migrations, &Settings::default(), None);
    assert!(
        diagnostics.len() >= statements,
        "expected a finding per index build"
    );
    let rendered = render_human(&diagnostics, true).len()
        + render_json(&diagnostics).len()
        + render_sarif(&diagnostics).len()
        + render_github(&diagnostics).len();
    assert!(rendered > 0);
    start.elapsed()
}

#[test]
fn twenty_thousand_statements_lint_and_render_in_linear_time() {
    let small = lint_and_render(2_000);
    let large = lint_and_render(20_000);
    if cfg!(debug_assertions) {
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-3);
        assert!(
            ratio < 25.0,
            "10x the statements took {ratio:.1}x the time ({small:?} -> {large:?}): not linear"
        );
    } else {
        assert!(
            large < Duration::from_secs(1),
            "20,000 statements took {large:?}"
        );
    }
}
