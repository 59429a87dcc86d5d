//! Allocations whose size comes from the input (a file's header, `--batch`):
//! made with `try_reserve`, so a size the machine cannot hold is a
//! [`RuntimeError::AllocationFailed`] naming the buffer, never an abort.

use crate::error::RuntimeError;

/// An empty vector with room for `len` values of `T`, or the error naming `what`.
pub fn vec_with_capacity<T>(len: usize, what: &str) -> Result<Vec<T>, RuntimeError> {
    let mut values = Vec::new();
    values
        .try_reserve_exact(len)
        .map_err(|_| RuntimeError::AllocationFailed {
            what: what.to_string(),
            bytes: (len as u64).saturating_mul(std::mem::size_of::<T>() as u64),
        })?;
    Ok(values)
}

/// `len` copies of `value`, or the error naming `what`.
pub fn vec_filled<T: Clone>(value: T, len: usize, what: &str) -> Result<Vec<T>, RuntimeError> {
    let mut values = vec_with_capacity(len, what)?;
    values.resize(len, value);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_size_is_an_error_that_names_the_buffer() {
        let err = vec_with_capacity::<u64>(usize::MAX / 4, "test buffer").unwrap_err();
        assert!(
            matches!(&err, RuntimeError::AllocationFailed { what, .. } if what == "test buffer")
        );
        assert!(err.to_string().contains("test buffer"), "{err}");
    }

    #[test]
    fn a_small_size_is_filled() {
        assert_eq!(vec_filled(7u8, 3, "x").unwrap(), vec![7, 7, 7]);
    }
}
