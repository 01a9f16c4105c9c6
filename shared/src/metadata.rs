//! Removes the metadata a picture carries before it is sent: where and when it was
//! taken, the camera and its serial number, the editing software, comments and
//! embedded thumbnails (EXIF, XMP, IPTC, text chunks).
//!
//! What stays is what displaying the picture needs:
//! - JPEG: the JFIF header (`APP0`), the colour profile (`APP2 ICC_PROFILE`), Adobe's
//!   colour transform (`APP14`), every table and scan, and the EXIF orientation alone
//!   (a fresh minimal EXIF block), so a phone's portrait photo does not turn sideways.
//! - PNG: every chunk but `eXIf`, `tEXt`, `iTXt`, `zTXt` and `tIME`.
//! - WebP: every chunk but `EXIF` and `XMP `, with their `VP8X` flags cleared.
//!
//! Bytes after the end of the image (where some cameras append a second picture or
//! vendor data) are dropped. The parser trusts no length it reads: every read is
//! bounds-checked, nothing panics and the work is linear in the input.

/// A picture that claims a known format but is not well formed, so its metadata cannot
/// be found with certainty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreadable;

impl core::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the picture is damaged or in an unusual layout")
    }
}

impl std::error::Error for Unreadable {}

/// `bytes` without their metadata, when they are a JPEG, PNG or WebP picture;
/// `Ok(None)` for any other content (nothing to remove that this module knows of).
pub fn strip(bytes: &[u8]) -> Result<Option<Vec<u8>>, Unreadable> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg(bytes).map(Some)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        png(bytes).map(Some)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp(bytes).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether a media type names a format [`strip`] cleans.
pub fn is_cleanable(media_type: &str) -> bool {
    matches!(media_type, "image/jpeg" | "image/png" | "image/webp")
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

// --- JPEG ---------------------------------------------------------------------------

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

fn jpeg(b: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut at = 2;
    let mut orientation = None;
    let mut wrote_orientation = false;
    let mut held = Vec::new();
    loop {
        // A marker: 0xFF, any fill bytes 0xFF, then the code.
        if b.get(at) != Some(&0xFF) {
            return Err(Unreadable);
        }
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        let code = *b.get(at).ok_or(Unreadable)?;
        at += 1;
        match code {
            EOI => {
                out.extend_from_slice(&[0xFF, EOI]);
                return Ok(out);
            }
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, code]);
                continue;
            }
            0x00 | SOI => return Err(Unreadable),
            _ => {}
        }
        let len = be16(b, at).ok_or(Unreadable)?;
        let segment = b.get(at..at + len).filter(|_| len >= 2).ok_or(Unreadable)?;
        let body = &segment[2..];
        let keep = match code {
            APP0 | APP14 => true,
            APP2 => body.starts_with(b"ICC_PROFILE\0"),
            APP1 => {
                if body.starts_with(b"Exif\0\0") {
                    orientation = orientation.or_else(|| exif_orientation(&body[6..]));
                }
                false
            }
            0xE3..=0xEF | COM => false,
            _ => true,
        };
        let header = matches!(code, APP0..=0xEF | COM);
        if header && !wrote_orientation {
            // The kept application segments wait until every EXIF block has been seen.
            if keep && code == APP0 {
                out.extend_from_slice(&[0xFF, code]);
                out.extend_from_slice(segment);
            } else if keep {
                held.extend_from_slice(&[0xFF, code]);
                held.extend_from_slice(segment);
            }
        } else {
            if !wrote_orientation {
                // The orientation goes right after the JFIF header, then the rest.
                if let Some(o) = orientation {
                    out.extend_from_slice(&minimal_exif(o));
                }
                out.append(&mut held);
                wrote_orientation = true;
            }
            if keep {
                out.extend_from_slice(&[0xFF, code]);
                out.extend_from_slice(segment);
            }
        }
        at += len;
        if code == SOS {
            // Entropy-coded data runs to the next marker that is neither a stuffed
            // 0xFF00 nor a restart marker.
            let start = at;
            loop {
                let ff = b
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|&x| x == 0xFF));
                let Some(ff) = ff else {
                    return Err(Unreadable);
                };
                at += ff;
                match b.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7 | 0xFF) => at += 1,
                    Some(_) => break,
                    None => return Err(Unreadable),
                }
            }
            // `at` is on the 0xFF that starts the next marker.
            out.extend_from_slice(&b[start..at]);
        }
    }
}

/// The orientation tag (0x0112) of an EXIF block's first directory, if it is valid.
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let little = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let raw: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        })
    };
    let u32_at = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(if little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        })
        .ok()
    };
    let ifd = u32_at(4)?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|i| {
        let entry = ifd.checked_add(2 + 12 * i)?;
        // Tag 0x0112, type SHORT (3), count 1: the value sits in the entry.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 && u32_at(entry + 4)? == 1)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|o| (2..=8).contains(o))
    })
}

/// An `APP1` segment holding an EXIF block with the orientation and nothing else.
fn minimal_exif(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\0*");
    tiff.extend_from_slice(&8u32.to_be_bytes());
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let len = 2 + 6 + tiff.len();
    let mut out = vec![0xFF, APP1];
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out
}

// --- PNG ----------------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn png(b: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    loop {
        let len = be32(b, at).ok_or(Unreadable)?;
        let end = at
            .checked_add(12)
            .and_then(|e| e.checked_add(len))
            .ok_or(Unreadable)?;
        let chunk = b.get(at..end).ok_or(Unreadable)?;
        let kind = &chunk[4..8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

// --- WebP ---------------------------------------------------------------------------

/// `VP8X` flags of the chunks removed.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

fn webp(b: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let riff_end = le32(b, 4)
        .and_then(|n| n.checked_add(8))
        .filter(|&e| e <= b.len())
        .ok_or(Unreadable)?;
    let mut out = Vec::with_capacity(riff_end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut at = 12;
    while at < riff_end {
        let len = le32(b, at + 4).ok_or(Unreadable)?;
        let end = at
            .checked_add(8)
            .and_then(|e| e.checked_add(len))
            .ok_or(Unreadable)?;
        let padded = end + (len & 1);
        let chunk = b
            .get(at..end)
            .filter(|_| end <= riff_end)
            .ok_or(Unreadable)?;
        match &chunk[..4] {
            b"EXIF" | b"XMP " => {}
            kind => {
                let start = out.len();
                out.extend_from_slice(chunk);
                if len & 1 == 1 {
                    out.push(0);
                }
                if kind == b"VP8X" {
                    let flags = out.get_mut(start + 8).ok_or(Unreadable)?;
                    *flags &= !(VP8X_EXIF | VP8X_XMP);
                }
            }
        }
        at = padded.min(riff_end);
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| Unreadable)?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(code: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, code];
        s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// An EXIF block (little-endian) with an orientation and a camera make.
    fn exif(orientation: u16) -> Vec<u8> {
        let mut t = b"Exif\0\0II*\0".to_vec();
        t.extend_from_slice(&8u32.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        // Make (0x010F), ASCII, 12 bytes at offset 38.
        t.extend_from_slice(&0x010Fu16.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&12u32.to_le_bytes());
        t.extend_from_slice(&38u32.to_le_bytes());
        t.extend_from_slice(&0x0112u16.to_le_bytes());
        t.extend_from_slice(&3u16.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&orientation.to_le_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(b"SecretCam 9\0");
        t
    }

    fn jpeg_with(app: &[Vec<u8>]) -> Vec<u8> {
        let mut j = vec![0xFF, SOI];
        j.extend(segment(APP0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for a in app {
            j.extend_from_slice(a);
        }
        j.extend(segment(0xDB, &[0; 65]));
        j.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        j.extend(segment(SOS, &[1, 1, 0, 0, 63, 0]));
        // Entropy data with a stuffed byte and a restart marker.
        j.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        j.extend_from_slice(&[0xFF, EOI]);
        j
    }

    #[test]
    fn jpeg_loses_exif_xmp_comments_and_trailers_but_keeps_orientation_and_colour() {
        let icc = segment(APP2, b"ICC_PROFILE\0\x01\x01profile");
        let original = jpeg_with(&[
            segment(APP1, &exif(6)),
            segment(
                APP1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>",
            ),
            icc.clone(),
            segment(0xED, b"Photoshop 3.0\0secret"),
            segment(COM, b"secret comment"),
        ]);
        let mut with_trailer = original.clone();
        with_trailer.extend_from_slice(b"secret trailer");
        let clean = strip(&with_trailer).unwrap().unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(
            !text.contains("secret") && !text.contains("SecretCam"),
            "{text}"
        );
        assert!(clean.windows(icc.len()).any(|w| w == icc));
        // The orientation survives in a minimal EXIF block, right after JFIF.
        let at = 2 + 18;
        assert_eq!(&clean[at..at + 2], &[0xFF, APP1]);
        assert_eq!(exif_orientation(&clean[at + 10..]), Some(6));
        assert_eq!(&clean[clean.len() - 2..], &[0xFF, EOI]);
        // Stripping is idempotent, and a clean picture is left as it is.
        assert_eq!(strip(&clean).unwrap().unwrap(), clean);
        let plain = jpeg_with(&[]);
        assert_eq!(strip(&plain).unwrap().unwrap(), plain);
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[1, 2, 3, 4]);
        c
    }

    #[test]
    fn png_loses_text_exif_and_time_chunks() {
        let mut p = PNG_SIGNATURE.to_vec();
        let ihdr = png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
        let idat = png_chunk(b"IDAT", b"pixels");
        let iend = png_chunk(b"IEND", b"");
        p.extend_from_slice(&ihdr);
        p.extend(png_chunk(b"tEXt", b"Author\0secret"));
        p.extend(png_chunk(b"eXIf", &exif(1)[6..]));
        p.extend_from_slice(&idat);
        p.extend(png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0secret"));
        p.extend(png_chunk(b"zTXt", b"Comment\0\0secret"));
        p.extend(png_chunk(b"tIME", &[7, 0xE0, 1, 1, 0, 0, 0]));
        p.extend_from_slice(&iend);
        p.extend_from_slice(b"secret trailer");
        let clean = strip(&p).unwrap().unwrap();
        let mut expected = PNG_SIGNATURE.to_vec();
        for c in [ihdr, idat, iend] {
            expected.extend(c);
        }
        assert_eq!(clean, expected);
    }

    fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = kind.to_vec();
        c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        w.extend_from_slice(b"WEBP");
        w.extend(body);
        w
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_their_flags() {
        let vp8x = |flags: u8| riff_chunk(b"VP8X", &[flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let image = riff_chunk(b"VP8 ", b"odd-sized");
        let original = riff(&[
            vp8x(VP8X_EXIF | VP8X_XMP | 0x10),
            image.clone(),
            riff_chunk(b"EXIF", &exif(1)[6..]),
            riff_chunk(b"XMP ", b"<x:xmpmeta>secret</x:xmpmeta>"),
        ]);
        let clean = strip(&original).unwrap().unwrap();
        assert_eq!(clean, riff(&[vp8x(0x10), image]));
    }

    #[test]
    fn other_content_is_left_alone_and_hostile_input_never_panics() {
        assert_eq!(strip(b"just some text"), Ok(None));
        assert_eq!(strip(b""), Ok(None));
        let samples = [
            jpeg_with(&[segment(APP1, &exif(3))]),
            {
                let mut p = PNG_SIGNATURE.to_vec();
                p.extend(png_chunk(b"IHDR", &[0; 13]));
                p.extend(png_chunk(b"IEND", b""));
                p
            },
            riff(&[riff_chunk(b"VP8X", &[0xFF; 10]), riff_chunk(b"EXIF", b"x")]),
        ];
        for sample in &samples {
            // Every truncation is refused (or, for a cut trailer, cleaned) without a panic.
            for cut in 0..sample.len() {
                let _ = strip(&sample[..cut]);
            }
            // Every single corrupted byte, at a few values.
            for i in 0..sample.len() {
                for v in [0x00, 0x01, 0x7F, 0xFF] {
                    let mut bad = sample.clone();
                    bad[i] = v;
                    let _ = strip(&bad);
                }
            }
        }
        // Lengths pointing far beyond the input.
        let mut huge = PNG_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0xFF; 8]);
        assert_eq!(strip(&huge), Err(Unreadable));
        assert_eq!(strip(b"RIFF\xFF\xFF\xFF\xFFWEBP"), Err(Unreadable));
        assert_eq!(
            strip(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF]),
            Err(Unreadable)
        );
        // An EXIF directory that claims more entries than it holds.
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes());
        tiff.extend_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(exif_orientation(&tiff), None);
    }
}
