// sqlx::migrate!() reads migrations/ at compile time; a new migration file must rebuild
// the crate, or an incremental build would run the schema without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
