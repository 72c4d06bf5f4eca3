package dev.lolcats4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** A folder tree's state, to assert that a command changed nothing in it. */
final class Trees {

    private Trees() {}

    /**
     * Relative path to SHA-256 of every file (symlinks by their target, folders as "dir"),
     * including hidden files; the folder itself may be absent ("absent").
     */
    static Map<String, String> hash(Path root) {
        Map<String, String> state = new TreeMap<>();
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            state.put("", "absent");
            return state;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                String name = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    state.put(name, "link -> " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    state.put(name, "dir");
                } else {
                    state.put(name, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return state;
    }
}
