// The SQL migrations are compiled in; rebuild when one is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
