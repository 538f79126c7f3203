//! Replays every file of `fuzz/corpus/<target>/` through the entry point the fuzz target of that
//! name uses, so CI checks the corpus (and every crash once turned into a corpus file) on a
//! stable toolchain.

use std::path::Path;

#[test]
fn every_corpus_file_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in tls_resumption::fuzzing::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let data = std::fs::read(&path).unwrap();
                target(&data);
                replayed += 1;
            }
        }
    }
    println!("replayed {replayed} corpus files");
}
