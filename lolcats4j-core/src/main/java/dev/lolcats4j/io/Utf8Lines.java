package dev.lolcats4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the first line of a file that is not valid UTF-8, streaming in fixed-size chunks (so a
 * file of random bytes, or one endless line, is rejected at its first bad byte in constant
 * memory instead of being read whole first).
 */
public final class Utf8Lines {

    private static final int CHUNK = 1 << 16;

    private Utf8Lines() {}

    /** The 1-based line of the first malformed byte sequence, or -1 when the whole file is valid UTF-8. */
    public static long firstMalformedLine(Path file) throws IOException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.allocate(CHUNK);
        CharBuffer out = CharBuffer.allocate(CHUNK);
        long line = 1;
        try (InputStream stream = Files.newInputStream(file)) {
            boolean end = false;
            while (!end) {
                int n = stream.read(in.array(), in.position(), in.remaining());
                if (n < 0) {
                    end = true;
                } else {
                    in.position(in.position() + n);
                }
                in.flip();
                CoderResult result;
                do {
                    out.clear();
                    int before = in.position();
                    result = decoder.decode(in, out, end);
                    line += newlines(in.array(), before, in.position());
                    if (result.isError()) {
                        return line;
                    }
                } while (result.isOverflow());
                in.compact();
            }
            out.clear();
            return decoder.flush(out).isError() ? line : -1;
        }
    }

    private static int newlines(byte[] bytes, int from, int to) {
        int count = 0;
        for (int i = from; i < to; i++) {
            if (bytes[i] == '\n') {
                count++;
            }
        }
        return count;
    }
}
