//! Cold start of every function's release binary against a local Lambda Runtime API
//! emulator, beside an empty `lambda_runtime` function built the same way (the floor).
//!
//! For each run a fresh emulator and a fresh process: init = spawn → first
//! `GET .../invocation/next`; first invocation = event handed out → response received;
//! total = spawn → response received. Then the binary's size and its zipped size.
//!
//! Build first: `cargo build --release -p meta-verify -p meta-webhook -p queue-worker
//! -p twilio-voice -p twilio-gather -p send-api -p console -p empty-function`, then
//! `cargo bench -p cold-start-bench`. See bench/README.md.
//!
//! Environment: `COLD_START_RUNS` (20), `COLD_START_WARMUP` (1 discarded run per
//! binary), `COLD_START_TIMEOUT_MS` (10000), `COLD_START_BIN_DIR` (the release directory
//! of this target dir), `COLD_START_ENV_FILE` (local.env), `COLD_START_EVENTS_DIR`
//! (events/), `COLD_START_FUNCTIONS` (comma-separated subset; positional arguments work
//! too).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cold_start_bench::env_file;
use cold_start_bench::package::{human_size, zipped_size};
use cold_start_bench::probe;
use cold_start_bench::run::{Failure, Measurement, Target, cold_start};
use cold_start_bench::stats::{Summary, delta_ms, ms};
use hyper::body::Bytes;

const FLOOR: &str = "empty-function";
const FUNCTIONS: [&str; 7] = [
    "meta-verify",
    "meta-webhook",
    "queue-worker",
    "twilio-voice",
    "twilio-gather",
    "send-api",
    "console",
];
/// The floor echoes an API Gateway event of the same shape the HTTP functions get.
const FLOOR_EVENT: &str = "meta-verify";
/// A function is given up after this many failed runs.
const MAX_FAILURES: usize = 3;
const START_MOTO: &str = "cd /work/main && source scripts/env.sh && start_emulator && python scripts/local_stack.py";

struct Settings {
    runs: usize,
    warmup: usize,
    timeout: Duration,
    bin_dir: PathBuf,
    env_file: PathBuf,
    events_dir: PathBuf,
    selected: Vec<String>,
}

/// One binary under test and what was measured.
struct Subject {
    name: String,
    /// `None` when it cannot run (not built, no event): the reason.
    target: Result<Target, String>,
    size: Option<(u64, Option<u64>)>,
    measurements: Vec<Measurement>,
    failures: Vec<Failure>,
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cold-start bench: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cold-start bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn bench() -> Result<(), String> {
    let settings = settings()?;
    let config = env_file::read(&settings.env_file).map_err(|e| {
        format!(
            "cannot read the function configuration {}: {e}",
            settings.env_file.display()
        )
    })?;

    println!("Cold start: spawn → first `GET /next` (init) → event handed out → first response (first invocation).");
    println!("  binaries: {}", settings.bin_dir.display());
    println!(
        "  configuration: {} ({} variables)",
        settings.env_file.display(),
        config.len()
    );
    println!(
        "  runs: {} per binary, round-robin, after {} discarded warm-up run(s); timeout {} ms",
        settings.runs,
        settings.warmup,
        settings.timeout.as_millis()
    );
    report_dependencies(&config).await;

    let names = std::iter::once(FLOOR)
        .chain(FUNCTIONS)
        .filter(|name| *name == FLOOR || settings.selected.is_empty() || settings.selected.iter().any(|s| s == name));
    let mut subjects: Vec<Subject> = names.map(|name| subject(name, &settings, &config)).collect();

    for round in 0..settings.warmup + settings.runs {
        let warmup = round < settings.warmup;
        for subject in &mut subjects {
            let Ok(target) = &subject.target else { continue };
            if subject.failures.len() >= MAX_FAILURES {
                continue;
            }
            match cold_start(target, round, settings.timeout).await {
                Ok(measurement) if !warmup => subject.measurements.push(measurement),
                Ok(_) => {}
                Err(failure) => {
                    eprint!("x");
                    subject.failures.push(failure);
                    continue;
                }
            }
            eprint!(".");
        }
    }
    eprintln!();

    print_timings(&subjects, settings.runs);
    print_sizes(&subjects);
    print_problems(&subjects);
    Ok(())
}

fn settings() -> Result<Settings, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let number = |key: &str, default: usize| -> Result<usize, String> {
        match std::env::var(key) {
            Ok(value) => value
                .trim()
                .parse()
                .map_err(|_| format!("{key}={value:?} is not a number")),
            Err(_) => Ok(default),
        }
    };
    let path = |key: &str, default: PathBuf| std::env::var_os(key).map_or(default, PathBuf::from);

    let mut selected: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    if let Ok(list) = std::env::var("COLD_START_FUNCTIONS") {
        selected.extend(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    if let Some(unknown) = selected
        .iter()
        .find(|s| !FUNCTIONS.contains(&s.as_str()) && *s != FLOOR)
    {
        return Err(format!("unknown function {unknown:?}; known: {}", FUNCTIONS.join(", ")));
    }

    Ok(Settings {
        runs: number("COLD_START_RUNS", 20)?.max(1),
        warmup: number("COLD_START_WARMUP", 1)?,
        timeout: Duration::from_millis(number("COLD_START_TIMEOUT_MS", 10_000)? as u64),
        bin_dir: path("COLD_START_BIN_DIR", default_bin_dir(&workspace)),
        env_file: path("COLD_START_ENV_FILE", workspace.join("local.env")),
        events_dir: path("COLD_START_EVENTS_DIR", workspace.join("events")),
        selected,
    })
}

/// The `release` directory this bench runs from (`<target>/release/deps/cold_start-…`):
/// `cargo bench` and `cargo build --release` share it, whatever `CARGO_TARGET_DIR` is.
fn default_bin_dir(workspace: &Path) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace.join("target"), PathBuf::from)
                .join("release")
        })
}

/// Says whether moto and the Graph API stand-in answer: cold starts that talk to them
/// include their latency.
async fn report_dependencies(config: &[(String, String)]) {
    let timeout = Duration::from_millis(500);
    match env_file::get(config, "AWS_ENDPOINT_URL").and_then(probe::host_port) {
        Some(addr) => {
            let mut trips = Vec::new();
            for _ in 0..5 {
                if let Some(rtt) = probe::http_round_trip(&addr, Duration::from_secs(2)).await {
                    trips.push(rtt);
                }
            }
            match Summary::of(&trips) {
                Some(rtt) => println!(
                    "  AWS emulator (AWS_ENDPOINT_URL): up at {addr}; one HTTP request on a new connection: median {} ms",
                    ms(rtt.median)
                ),
                None if probe::reachable(&addr, timeout).await => {
                    println!("  AWS emulator (AWS_ENDPOINT_URL): {addr} accepts connections but does not answer HTTP")
                }
                None => {
                    println!("  AWS emulator (AWS_ENDPOINT_URL): NOT RUNNING at {addr}.");
                    println!("    Functions with AWS clients need it (they will fail or wait on it). Start it with:");
                    println!("    {START_MOTO}");
                }
            }
        }
        None => println!("  AWS_ENDPOINT_URL: not set; the functions would talk to real AWS endpoints"),
    }
    if let Some(addr) = env_file::get(config, "GRAPH_API_BASE_URL").and_then(probe::host_port) {
        let state = if probe::reachable(&addr, timeout).await {
            "up"
        } else {
            "not running (the worker's warm-up must tolerate it)"
        };
        println!("  Graph API stand-in (GRAPH_API_BASE_URL): {addr}, {state}");
    }
    println!();
}

fn subject(name: &str, settings: &Settings, config: &[(String, String)]) -> Subject {
    let binary = settings.bin_dir.join(name);
    let bytes = std::fs::read(&binary);
    let size = bytes
        .as_ref()
        .ok()
        .map(|bytes| (bytes.len() as u64, zipped_size(bytes).ok()));
    let event_name = if name == FLOOR { FLOOR_EVENT } else { name };
    let event_path = settings.events_dir.join(format!("{event_name}.json"));
    let target = match (bytes, std::fs::read(&event_path)) {
        (Err(_), _) => Err(format!(
            "not built ({}): cargo build --release -p {name}",
            binary.display()
        )),
        (_, Err(e)) => Err(format!("no event {}: {e}", event_path.display())),
        (Ok(_), Ok(event)) => Ok(Target {
            name: name.to_owned(),
            binary,
            event: Bytes::from(event),
            env: config.to_vec(),
        }),
    };
    Subject {
        name: name.to_owned(),
        target,
        size,
        measurements: Vec::new(),
        failures: Vec::new(),
    }
}

struct Row {
    init: Summary,
    first: Summary,
    total: Summary,
}

fn row(subject: &Subject) -> Option<Row> {
    let pick = |f: fn(&Measurement) -> Duration| subject.measurements.iter().map(f).collect::<Vec<_>>();
    Some(Row {
        init: Summary::of(&pick(|m| m.init))?,
        first: Summary::of(&pick(|m| m.first_invocation))?,
        total: Summary::of(&pick(|m| m.total))?,
    })
}

fn triple(summary: &Summary) -> String {
    format!("{} / {} / {}", ms(summary.min), ms(summary.median), ms(summary.p90))
}

fn print_timings(subjects: &[Subject], runs: usize) {
    let floor = subjects.iter().find(|s| s.name == FLOOR).and_then(row);
    println!("Cold start, ms (min / median / p90); Δ = median minus the {FLOOR} floor's median");
    println!(
        "{:<15} {:>5}  {:<22} {:<22} {:<22} {:<24} outcome",
        "function", "ok", "init", "first invocation", "total", "Δ median init/1st/total"
    );
    for subject in subjects {
        let ok = format!("{}/{runs}", subject.measurements.len());
        let Some(row) = row(subject) else {
            let why = match (&subject.target, subject.failures.first()) {
                (Err(reason), _) => reason.clone(),
                (Ok(_), Some(failure)) => format!("error: {}", first_line(&failure.reason)),
                (Ok(_), None) => "no runs".to_owned(),
            };
            println!("{:<15} {ok:>5}  {why}", subject.name);
            continue;
        };
        let delta = match &floor {
            Some(floor) if subject.name != FLOOR => format!(
                "{} / {} / {}",
                delta_ms(row.init.median, floor.init.median),
                delta_ms(row.first.median, floor.first.median),
                delta_ms(row.total.median, floor.total.median)
            ),
            Some(_) => "(floor)".to_owned(),
            None => "(no floor)".to_owned(),
        };
        let mut outcomes: Vec<&str> = subject.measurements.iter().map(|m| m.outcome.as_str()).collect();
        outcomes.dedup();
        let failed = if subject.failures.is_empty() {
            String::new()
        } else {
            format!(" ({} failed)", subject.failures.len())
        };
        println!(
            "{:<15} {ok:>5}  {:<22} {:<22} {:<22} {:<24} {}{failed}",
            subject.name,
            triple(&row.init),
            triple(&row.first),
            triple(&row.total),
            delta,
            outcomes.join(", ")
        );
    }
    println!();
}

fn print_sizes(subjects: &[Subject]) {
    let floor_zip = subjects
        .iter()
        .find(|s| s.name == FLOOR)
        .and_then(|s| s.size)
        .and_then(|(_, zipped)| zipped);
    println!("Package size (this build's target; the deployed figure is the arm64 build of `make build`)");
    println!(
        "{:<15} {:>12} {:>12} {:>12} {:>18}",
        "function", "binary", "zipped", "zipped B", "Δ zipped vs floor"
    );
    for subject in subjects {
        match subject.size {
            Some((binary, Some(zipped))) => {
                let delta = match floor_zip {
                    Some(floor) if subject.name != FLOOR => human_delta(zipped, floor),
                    _ => String::new(),
                };
                println!(
                    "{:<15} {:>12} {:>12} {:>12} {:>18}",
                    subject.name,
                    human_size(binary),
                    human_size(zipped),
                    zipped,
                    delta
                );
            }
            Some((binary, None)) => println!("{:<15} {:>12} {:>12}", subject.name, human_size(binary), "zip failed"),
            None => println!("{:<15} {:>12}", subject.name, "not built"),
        }
    }
    println!();
}

fn human_delta(value: u64, floor: u64) -> String {
    if value >= floor {
        format!("+{}", human_size(value - floor))
    } else {
        format!("-{}", human_size(floor - value))
    }
}

fn print_problems(subjects: &[Subject]) {
    let missing: Vec<&str> = subjects
        .iter()
        .filter(|s| s.size.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        let packages: Vec<String> = missing.iter().map(|name| format!("-p {name}")).collect();
        println!("Not built: {}. Build them with:", missing.join(", "));
        println!("  cargo build --release {}", packages.join(" "));
        println!("(with the same CARGO_TARGET_DIR as this bench, or point COLD_START_BIN_DIR at them)");
        println!();
    }
    for subject in subjects {
        let Some(failure) = subject.failures.first() else {
            continue;
        };
        println!(
            "{}: {} failed run(s); the first: {}",
            subject.name,
            subject.failures.len(),
            failure.reason
        );
        for (stream, text) in [("stderr", &failure.stderr), ("stdout", &failure.stdout)] {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                continue;
            }
            println!("  --- {stream} (last {} lines) ---", lines.len().min(20));
            for line in &lines[lines.len().saturating_sub(20)..] {
                println!("  {line}");
            }
        }
        println!();
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
