package dev.lolcats4j.spark;

import dev.lolcats4j.BadInputException;
import java.util.regex.Pattern;

/** Checks a {@code --master} value before any Spark machinery starts. */
final class SparkMasters {

    /** The runner's default: this JVM, one task slot per core. */
    static final String DEFAULT = "local[*]";

    private static final Pattern LOCAL = Pattern.compile("local(\\[(\\*|[1-9][0-9]*)(,\\s*[1-9][0-9]*)?\\])?");
    private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}");

    private SparkMasters() {}

    /** True for local, local[N], local[*] and local[N,F] (F = attempts per task). */
    static boolean isLocal(String master) {
        return LOCAL.matcher(master).matches();
    }

    /** Returns the master unchanged when Spark would accept its form; else a one-line {@link BadInputException}. */
    static String check(String master) {
        if (master.isBlank()) {
            throw new BadInputException("--master: expected a Spark master URL (local[*], spark://HOST:PORT, yarn, k8s://...), found an empty value");
        }
        if (isLocal(master) || master.equals("yarn") || master.startsWith("k8s://") || master.startsWith("local-cluster[")) {
            return master;
        }
        if (master.startsWith("spark://")) {
            for (String hostPort : master.substring("spark://".length()).split(",")) {
                if (!HOST_PORT.matcher(hostPort).matches() || !validPort(hostPort)) {
                    throw new BadInputException("--master: expected spark://HOST:PORT[,HOST:PORT...], found \"" + master + "\"");
                }
            }
            return master;
        }
        throw new BadInputException("--master: expected local[*], local[N], local[N,F], spark://HOST:PORT, yarn or k8s://..., found \"" + master + "\"");
    }

    private static boolean validPort(String hostPort) {
        int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
        return port >= 1 && port <= 65535;
    }
}
