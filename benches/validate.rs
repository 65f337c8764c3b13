//! Benchmark: validate a generated config of 10,000 accounts across the four
//! vendors in 100 files, every account with an inline age-encrypted secret.
//!
//! Prints the median wall time and peak memory of `tether validate` (release
//! binary, separate process), and of `terraform fmt -check` (an HCL syntax
//! check only) on the same files in the same run, where terraform is
//! installed. Targets: under 300 ms, under 150 MB, at least 8x faster than
//! terraform.
//!
//! Run: `cargo bench --bench validate` (builds the release binary first).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 10_000;
const FILES: usize = 100;
const RUNS: usize = 11;

fn main() {
    let root = std::env::temp_dir().join(format!("tether-bench-validate-{}", std::process::id()));
    let conf = root.join("config");
    std::fs::create_dir_all(&conf).unwrap();
    let t = Instant::now();
    let bytes = generate(&conf);
    eprintln!(
        "generated {ACCOUNTS} accounts in {FILES} files ({:.1} MB) in {:.1?}",
        bytes as f64 / 1e6,
        t.elapsed()
    );

    let tether = release_binary();
    let check = run(Command::new(&tether).args(["-C"]).arg(&conf).arg("validate"));
    assert!(check.0, "the generated config must validate");

    let (times, rss) = measure(RUNS, || {
        let mut c = Command::new(&tether);
        c.arg("-C").arg(&conf).arg("validate");
        c
    });
    let tether_median = median(&times);
    println!("tether validate: {ACCOUNTS} accounts, {FILES} files");
    println!(
        "  median {:.1} ms over {RUNS} runs (min {:.1} ms, max {:.1} ms), peak RSS {:.1} MB",
        ms(tether_median),
        ms(*times.iter().min().unwrap()),
        ms(*times.iter().max().unwrap()),
        rss as f64 / 1024.0
    );
    println!(
        "  targets: < 300 ms [{}], < 150 MB [{}]",
        pass(ms(tether_median) < 300.0),
        pass((rss as f64 / 1024.0) < 150.0)
    );

    match which("terraform") {
        Some(tf) => {
            // terraform fmt reads only .tf files: the same bytes under .tf names.
            let tfdir = root.join("tf");
            std::fs::create_dir_all(&tfdir).unwrap();
            for e in std::fs::read_dir(&conf).unwrap().flatten() {
                let name = e.path().with_extension("tf");
                std::fs::copy(e.path(), tfdir.join(name.file_name().unwrap())).unwrap();
            }
            let (tf_times, tf_rss) = measure(5, || {
                let mut c = Command::new(&tf);
                c.args(["fmt", "-check", "-list=false"])
                    .arg(&tfdir)
                    .env("CHECKPOINT_DISABLE", "1")
                    .env("TF_CLI_CONFIG_FILE", "/dev/null");
                c
            });
            let tf_median = median(&tf_times);
            println!(
                "terraform fmt -check (same files as .tf): median {:.1} ms over 5 runs, peak RSS {:.1} MB",
                ms(tf_median),
                tf_rss as f64 / 1024.0
            );
            let ratio = tf_median.as_secs_f64() / tether_median.as_secs_f64();
            println!(
                "  tether is {ratio:.1}x faster (target >= 8x) [{}]",
                pass(ratio >= 8.0)
            );
        }
        None => println!("terraform not installed: comparison skipped"),
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn pass(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// Runs a command `n` times; returns wall times and the peak RSS (KiB) of the children.
fn measure(n: usize, make: impl Fn() -> Command) -> (Vec<Duration>, i64) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let ok = run(&mut make());
        times.push(t.elapsed());
        let _ = ok;
    }
    (times, children_max_rss())
}

fn run(c: &mut Command) -> (bool, i32) {
    let st = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("command starts");
    (st.success(), st.code().unwrap_or(-1))
}

/// Peak resident set of any waited-for child so far, in KiB.
fn children_max_rss() -> i64 {
    // SAFETY: getrusage writes into the struct we pass and has no other effects.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn release_binary() -> PathBuf {
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "tether"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(st.success());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release/tether")
}

/// Writes the config; returns its size in bytes.
fn generate(dir: &Path) -> usize {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public();
    // One real ciphertext per 100 accounts, reused: validation cost is per value, not per key.
    let cts: Vec<String> = (0..FILES).map(|i| encrypt(&recipient, &format!("bench-secret-{i}"))).collect();
    let mut total = 0;
    let per_file = ACCOUNTS / FILES;
    let mut f0 = format!("tether {{\n  recipients  = [\"{recipient}\"]\n  parallelism = 20\n}}\n\n");
    for file in 0..FILES {
        let mut s = if file == 0 { std::mem::take(&mut f0) } else { String::new() };
        for j in 0..per_file {
            let n = file * per_file + j;
            let ct: String = cts[file]
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect();
            let dep = if j > 0 && n % 7 == 0 {
                format!("  depends_on = [{}]\n", addr(n - 1))
            } else {
                String::new()
            };
            match n % 4 {
                0 => s.push_str(&format!(
                    "account \"aws\" \"a{n}\" {{\n  main_account_id   = \"{:012}\"\n  account_name      = \"Account {n}\"\n  access_key_id     = \"AKIA{n:016}\"\n  secret_access_key = <<-EOT\n{ct}  EOT\n  regions = [\"us-east-1\", \"eu-west-1\"]\n  tags    = {{ team = \"team-{}\", owner = \"owner{n}@example.com\" }}\n{dep}}}\n\n",
                    100_000_000_000u64 + n as u64,
                    n % 17
                )),
                1 => s.push_str(&format!(
                    "account \"alibaba\" \"b{n}\" {{\n  main_account_id   = \"{}\"\n  account_name      = \"Account {n}\"\n  access_key_id     = \"LTAI{n:016}\"\n  secret_access_key = <<-EOT\n{ct}  EOT\n  regions = [\"cn-hangzhou\"]\n  tags    = {{ team = \"team-{}\" }}\n{dep}}}\n\n",
                    1_000_000_000_000_000u64 + n as u64,
                    n % 17
                )),
                2 => s.push_str(&format!(
                    "account \"azure\" \"c{n}\" {{\n  tenant_id          = \"{n:08x}-0000-4000-8000-000000000000\"\n  tenant_name        = \"tenant{n}\"\n  application_id     = \"{n:08x}-1111-4111-8111-111111111111\"\n  application_secret = <<-EOT\n{ct}  EOT\n  regions = [\"westeurope\"]\n{dep}}}\n\n"
                )),
                _ => s.push_str(&format!(
                    "account \"hcs\" \"d{n}\" {{\n  endpoint         = \"hcs{n}.example.com\"\n  environment_name = \"env{n}\"\n  account          = \"ops-admin\"\n  password         = <<-EOT\n{ct}  EOT\n  api_endpoint = \"https://api{n}.example.com\"\n{dep}}}\n\n"
                )),
            }
        }
        total += s.len();
        let mut f = std::fs::File::create(dir.join(format!("accounts-{file:03}.hcl"))).unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }
    total
}

fn addr(n: usize) -> String {
    match n % 4 {
        0 => format!("aws.a{n}"),
        1 => format!("alibaba.b{n}"),
        2 => format!("azure.c{n}"),
        _ => format!("hcs.d{n}"),
    }
}

fn encrypt(r: &age::x25519::Recipient, text: &str) -> String {
    let enc = age::Encryptor::with_recipients(std::iter::once(r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = enc.wrap_output(armor).unwrap();
    w.write_all(text.as_bytes()).unwrap();
    w.finish().unwrap().finish().unwrap();
    String::from_utf8(out).unwrap()
}
