//! Decrypting 1,000 armored X25519 secrets: prints the median of several runs.
//!
//! `cargo bench --bench decrypt [-- --dir DIR] [--runs N]`. With `--dir`, the
//! identity (`key.txt`) and the 1,000 values (`values/NNNN.age`) are written
//! there so `benches/secrets.sh` can time pyrage and `age` on the same bytes.

// Fixtures and figures are written and printed as they are: the library's
// write and output rules (clippy.toml) are not the harness's.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tether::secrets::decrypt::{self, Ciphertext, Origin};
use tether::secrets::{Identities, Recipients, encrypt};

const VALUES: usize = 1000;

fn main() {
    let mut dir = None;
    let mut runs = 21usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().map(std::path::PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            _ => {} // `cargo bench` passes `--bench`
        }
    }

    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let recipients = Recipients::parse([(recipient.as_str(), None)]).expect("recipient parses");
    let plaintexts: Vec<String> = (0..VALUES)
        .map(|i| format!("bench-secret-{i:04}-wJalrXUtnFEMI/K7MDENG/bPxRfiCY"))
        .collect();
    let items: Vec<Ciphertext> = plaintexts
        .iter()
        .enumerate()
        .map(|(i, p)| Ciphertext {
            origin: Origin {
                address: format!("aws.a{i}"),
                attribute: "secret_access_key".into(),
                location: "bench".into(),
            },
            bytes: encrypt::armored(p.as_bytes(), &recipients)
                .expect("encrypts")
                .into_bytes(),
        })
        .collect();
    if let Some(dir) = &dir {
        let values = dir.join("values");
        std::fs::create_dir_all(&values).expect("bench dir");
        let key = format!(
            "# public key: {recipient}\n{}\n",
            id.to_string().expose_secret()
        );
        std::fs::write(dir.join("key.txt"), key).expect("write key");
        for (i, c) in items.iter().enumerate() {
            std::fs::write(values.join(format!("{i:04}.age")), &c.bytes).expect("write value");
        }
    }
    let ids = Identities::from_list(vec![Box::new(id)]);

    // Correctness first: every value decrypts to its plaintext.
    let out = decrypt::decrypt_all(&items, &ids).expect("decrypts");
    assert!(
        out.iter()
            .zip(&plaintexts)
            .all(|(s, p)| s.expose() == p.as_bytes())
    );

    let parallel = median(runs, || {
        decrypt::decrypt_all(&items, &ids).expect("decrypts");
    });
    let sequential = median(runs, || {
        for c in &items {
            decrypt::decrypt(c, &ids).expect("decrypts");
        }
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "tether: decrypt {VALUES} armored X25519 secrets: median {:.1} ms ({threads} threads), {:.1} ms on one thread, over {runs} runs",
        ms(parallel),
        ms(sequential)
    );
    println!("tether_median_ms={:.3}", ms(parallel));
    println!("tether_sequential_median_ms={:.3}", ms(sequential));
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
