package io.hicache.core.util;

import io.hicache.core.pipeline.InvalidModelException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Text files of a model folder (tokenizer vocabularies, merges): UTF-8 or a clear error. */
public final class TextFiles {
    private TextFiles() {}

    /**
     * The text of {@code file}, which must be UTF-8; the error names the file and the offset of the
     * first byte that is not (the JDK's own message is only "Input length = 1").
     */
    public static String readUtf8(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            throw new InvalidModelException(file + ": not UTF-8 text (invalid byte 0x"
                    + String.format("%02x", bytes[in.position()] & 0xff) + " at offset " + in.position() + ")");
        }
        decoder.flush(out);
        return out.flip().toString();
    }
}
