//! Sealed values read back from a database someone else could write: any bytes open to a value
//! or to an error, never a panic, and what was sealed opens only in its own context.
#![no_main]

use iys_relay::crypto::Keyring;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let keyring = Keyring::new(&[7; 32], &[[9; 32]]);
    let (context, sealed) = input.split_at(input.len().min(16));
    let context = String::from_utf8_lossy(context);
    let _ = keyring.open(sealed, &context);
    let _ = Keyring::key_id_of(sealed);
    // What the relay seals opens to itself in its context, and in no other.
    let resealed = keyring.seal(sealed, &context);
    assert_eq!(keyring.open(&resealed, &context).ok().as_deref(), Some(sealed));
    assert!(keyring.open(&resealed, &format!("{context}!")).is_err());
});
