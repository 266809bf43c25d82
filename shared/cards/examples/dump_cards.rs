//! Writes the sample cards (fixtures, linked, resolved, huge, notice) as JSON files into the
//! folder given as the only argument, for the Node validation in `tests/validate/`:
//!
//! ```sh
//! cargo run -q -p cards --example dump_cards -- target/cards-json
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: dump_cards <output folder>");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    for (name, card) in common::sample_cards() {
        let path = dir.join(format!("{name}.json"));
        let json = serde_json::to_string_pretty(&card).expect("serialise card");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        println!("{} ({} bytes compact)", path.display(), serde_json::to_vec(&card).expect("serialise").len());
    }
}
