//! Padding to size buckets before encryption, so a ciphertext's length reveals only the
//! bucket of its plaintext.
//!
//! A padded block is `len (u32, little-endian) || data || zeros`. Its total size is the
//! smallest bucket that fits: 64, 128, 256, … 16384 bytes (powers of two), then the next
//! multiple of 16384. Past 16 KiB the doubling would waste up to half of a large file
//! chunk; fixed 16 KiB steps cap the waste while still hiding small differences.

use zeroize::Zeroizing;

use super::CryptoError;

/// The smallest bucket.
pub const MIN_BUCKET: usize = 64;
/// The largest power-of-two bucket; bigger blocks grow in steps of this size.
pub const STEP_BUCKET: usize = 16 * 1024;

/// The padded size for `len` bytes of data (the 4-byte length prefix included).
pub fn bucket(len: usize) -> usize {
    let need = len + 4;
    if need <= STEP_BUCKET {
        need.next_power_of_two().max(MIN_BUCKET)
    } else {
        need.div_ceil(STEP_BUCKET) * STEP_BUCKET
    }
}

/// Pads `data` to its bucket.
pub fn pad(data: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = u32::try_from(data.len()).expect("padded data is smaller than 4 GiB");
    let mut out = Zeroizing::new(Vec::with_capacity(bucket(data.len())));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    out.resize(bucket(data.len()), 0);
    out
}

/// Removes padding, refusing blocks that are not exactly what [`pad`] makes.
pub fn unpad(block: &[u8]) -> Result<&[u8], CryptoError> {
    let (prefix, rest) = block
        .split_first_chunk::<4>()
        .ok_or(CryptoError::Malformed)?;
    let len = u32::from_le_bytes(*prefix) as usize;
    if len > rest.len() || bucket(len) != block.len() || rest[len..].iter().any(|&b| b != 0) {
        return Err(CryptoError::Malformed);
    }
    Ok(&rest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_then_steps() {
        assert_eq!(bucket(0), 64);
        assert_eq!(bucket(60), 64);
        assert_eq!(bucket(61), 128);
        assert_eq!(bucket(200), 256);
        assert_eq!(bucket(STEP_BUCKET - 4), STEP_BUCKET);
        assert_eq!(bucket(STEP_BUCKET - 3), 2 * STEP_BUCKET);
        assert_eq!(bucket(3 * STEP_BUCKET), 4 * STEP_BUCKET);
    }

    #[test]
    fn pad_round_trips_and_rejects_tampering() {
        for len in [0, 1, 59, 60, 61, 1000, 20_000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8 | 1).collect();
            let block = pad(&data);
            assert_eq!(block.len(), bucket(len));
            assert_eq!(unpad(&block).unwrap(), &data[..]);
        }
        let mut block = pad(b"hi").to_vec();
        block[10] = 1;
        assert_eq!(unpad(&block), Err(CryptoError::Malformed));
        assert_eq!(unpad(&block[..63]), Err(CryptoError::Malformed));
        assert_eq!(unpad(&[]), Err(CryptoError::Malformed));
    }
}
