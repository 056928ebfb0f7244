//! The files the API answers with instead of JSON: an invoice's QR code (a PNG of its
//! brcode) and the PDF receipts of invoices, invoice logs and transfers.
//!
//! A handler returns a file as a marker [`Value`] ([`wrap`]); [`unwrap`] turns it back into
//! the bytes and their content type when the request ends (see `routes::outcome`), so the
//! handlers keep one return type. The marker never leaves the process.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::{Color, EcLevel, QrCode};
use serde_json::{Value, json};

/// The key of the marker object that carries a file through a handler's `Value`.
const MARKER: &str = "$sandboxContent";
/// Modules of white border around a QR code (what the QR specification asks for).
pub const QUIET_ZONE: usize = 4;

/// A file answer: `content_type` and `bytes`, as a marker value.
pub fn wrap(content_type: &str, bytes: &[u8]) -> Value {
    json!({ MARKER: { "type": content_type, "base64": STANDARD.encode(bytes) } })
}

/// The content type and bytes of a [`wrap`]ped file, or `None` for any other value.
pub fn unwrap(v: &Value) -> Option<(String, Vec<u8>)> {
    let m = v.as_object().filter(|m| m.len() == 1)?.get(MARKER)?;
    let ct = m.get("type")?.as_str()?.to_string();
    let bytes = STANDARD.decode(m.get("base64")?.as_str()?).ok()?;
    Some((ct, bytes))
}

// --- PNG -------------------------------------------------------------------------------------

/// The QR code of `data` as a 1-bit grayscale PNG, `size` pixels per module, with a
/// [`QUIET_ZONE`]: `(modules + 8) * size` pixels square. `None` if `data` does not fit a QR
/// code.
pub fn qr_png(data: &str, size: usize) -> Option<Vec<u8>> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let modules = code.width();
    let dark = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * size;
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    for y in 0..side {
        raw.push(0); // filter type None
        let my = (y / size).checked_sub(QUIET_ZONE).filter(|m| *m < modules);
        let mut byte = 0u8;
        for x in 0..side {
            let mx = (x / size).checked_sub(QUIET_ZONE).filter(|m| *m < modules);
            let is_dark = match (mx, my) {
                (Some(mx), Some(my)) => dark[my * modules + mx] == Color::Dark,
                _ => false,
            };
            // Grayscale 1 bit: 1 is white.
            if !is_dark {
                byte |= 0x80 >> (x % 8);
            }
            if x % 8 == 7 || x + 1 == side {
                raw.push(byte);
                byte = 0;
            }
        }
    }
    let side = u32::try_from(side).ok()?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, grayscale, deflate, filter 0, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    Some(png)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of `data` in stored (uncompressed) deflate blocks: valid for every
/// decoder, and small enough for a QR code of 1-bit pixels.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

// --- PDF -------------------------------------------------------------------------------------

/// A one-page PDF (A4, Helvetica) showing `title` and `lines`, with a valid cross-reference
/// table. Characters outside printable ASCII are replaced by `?`.
pub fn pdf(title: &str, lines: &[String]) -> Vec<u8> {
    let mut text = String::from("BT /F1 16 Tf 56 780 Td ");
    text.push_str(&format!("({}) Tj /F1 11 Tf", pdf_string(title)));
    for line in lines {
        text.push_str(&format!(" 0 -20 Td ({}) Tj", pdf_string(line)));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn pdf_string(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            ' '..='~' => c.to_string(),
            _ => "?".to_string(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Read a PNG made by [`qr_png`]: check the signature and every chunk's CRC, and return
    /// (width, height, bit depth, color type, the inflated scanlines).
    pub(crate) fn read_png(png: &[u8]) -> (u32, u32, u8, u8, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
        let mut at = 8;
        let (mut ihdr, mut idat) = (Vec::new(), Vec::new());
        loop {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]), "crc");
            match kind {
                b"IHDR" => ihdr = data.to_vec(),
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => break,
                _ => {}
            }
            at += 12 + len;
        }
        assert_eq!(at + 12, png.len(), "IEND ends the file");
        let w = u32::from_be_bytes(ihdr[0..4].try_into().unwrap());
        let h = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
        // Inflate stored blocks.
        assert_eq!(idat[0] & 0x0f, 8, "deflate");
        let mut raw = Vec::new();
        let mut p = 2;
        loop {
            let last = idat[p] & 1 == 1;
            assert_eq!(idat[p] & 0b110, 0, "stored block");
            let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]) as usize;
            let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
            assert_eq!(!(len as u16), nlen);
            raw.extend_from_slice(&idat[p + 5..p + 5 + len]);
            p += 5 + len;
            if last {
                break;
            }
        }
        assert_eq!(
            u32::from_be_bytes(idat[p..p + 4].try_into().unwrap()),
            adler32(&raw)
        );
        (w, h, ihdr[8], ihdr[9], raw)
    }

    #[test]
    fn the_qr_png_is_a_png_of_the_code_with_its_quiet_zone() {
        let data = "00020101021226890014br.gov.bcb.pix2567brcode-h.sandbox.starkinfra.com/v2/1";
        let size = 3;
        let png = qr_png(data, size).unwrap();
        let code = QrCode::with_error_correction_level(data, EcLevel::M).unwrap();
        let modules = code.width();
        let side = (modules + 2 * QUIET_ZONE) * size;
        let (w, h, depth, color, raw) = read_png(&png);
        assert_eq!((w, h, depth, color), (side as u32, side as u32, 1, 0));
        let row = side.div_ceil(8) + 1;
        assert_eq!(raw.len(), row * side);
        let white = |x: usize, y: usize| raw[y * row + 1 + x / 8] & (0x80 >> (x % 8)) != 0;
        let colors = code.to_colors();
        for y in 0..side {
            assert_eq!(raw[y * row], 0, "filter None");
            for x in 0..side {
                let (mx, my) = (x / size, y / size);
                let inside = (QUIET_ZONE..QUIET_ZONE + modules).contains(&mx)
                    && (QUIET_ZONE..QUIET_ZONE + modules).contains(&my);
                let dark = inside
                    && colors[(my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)] == Color::Dark;
                assert_eq!(white(x, y), !dark, "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn the_pdf_has_a_valid_xref() {
        let pdf = pdf("Invoice (1)", &["Amount: R$ 10,00".into(), "Ação".into()]);
        let s = String::from_utf8(pdf.clone()).unwrap();
        assert!(s.starts_with("%PDF-1.4\n") && s.ends_with("%%EOF\n"));
        let startxref: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(s[startxref..].starts_with("xref\n0 6\n"));
        for (i, line) in s[startxref..].lines().skip(3).take(5).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                s[off..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
        assert!(s.contains("(Invoice \\(1\\)) Tj") && s.contains("(A??o) Tj"));
        let len: usize = s
            .split("/Length ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let stream = s.split_once(">>\nstream\n").unwrap().1;
        assert_eq!(stream.find("\nendstream"), Some(len));
    }

    #[test]
    fn markers_round_trip_and_nothing_else_is_one() {
        let v = wrap("image/png", b"\x89PNG");
        assert_eq!(unwrap(&v), Some(("image/png".into(), b"\x89PNG".to_vec())));
        assert_eq!(unwrap(&json!({"invoice": {}})), None);
    }
}
