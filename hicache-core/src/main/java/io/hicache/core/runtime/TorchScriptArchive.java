package io.hicache.core.runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a TorchScript archive (the zip {@code torch.jit.save} produces) around TorchScript source
 * text, in pure Java. libtorch compiles the source when the archive is loaded, so any aten op is
 * reachable without Python or a torch install at build time.
 *
 * <p>Layout: {@code <name>/data.pkl} (the pickled module object: class {@code __torch__.<cls>}
 * with state {@code {'training': False}}), {@code <name>/code/__torch__.py} (the source),
 * {@code <name>/constants.pkl} (an empty tuple) and {@code <name>/version}. Version 10 is required:
 * older versions make libtorch apply upgraders that reject {@code gelu(approximate=...)}.
 */
public final class TorchScriptArchive {
    private static final int FORMAT_VERSION = 10;

    private TorchScriptArchive() {}

    /** The archive bytes of {@code source} defining class {@code className}, saved as {@code archiveName}. */
    public static byte[] build(String archiveName, String className, String source) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            stored(zip, archiveName + "/data.pkl", pickleModule(className));
            stored(zip, archiveName + "/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            stored(zip, archiveName + "/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            stored(zip, archiveName + "/version",
                    (FORMAT_VERSION + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Pickle protocol 2: GLOBAL __torch__.cls, EMPTY_TUPLE, NEWOBJ, {'training': False}, BUILD. */
    static byte[] pickleModule(String className) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        b.write('c');
        b.writeBytes(("__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII));
        b.write(')');
        b.write(0x81);
        b.write('}');
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        b.write('X');
        b.write(key.length);
        b.write(0);
        b.write(0);
        b.write(0);
        b.writeBytes(key);
        b.write(0x89);
        b.write('s');
        b.write('b');
        b.write('.');
        return b.toByteArray();
    }

    // Entries are STORED (uncompressed), as torch.jit.save writes them.
    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
