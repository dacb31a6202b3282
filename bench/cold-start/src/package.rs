//! Deployment package size: the binary zipped alone as `bootstrap` (deflate), the layout
//! of a `provided.al2023` function's code package.

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// The size of a zip holding `binary` as an executable file named `bootstrap`,
/// deflated at the default level.
pub fn zipped_size(binary: &[u8]) -> zip::result::ZipResult<u64> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2)));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    let archive = writer.finish()?;
    Ok(archive.into_inner().len() as u64)
}

/// `1234567` as `1.18 MiB`, `2048` as `2.0 KiB`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.2} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_a_single_deflated_bootstrap() -> zip::result::ZipResult<()> {
        let binary = vec![0u8; 64 * 1024];
        let size = zipped_size(&binary)?;
        // Zeros deflate to almost nothing; the archive is headers plus a small stream.
        assert!(size > 100 && size < 1024, "{size}");
        Ok(())
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.00 MiB");
    }
}
