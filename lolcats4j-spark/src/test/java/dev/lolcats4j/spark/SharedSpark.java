package dev.lolcats4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * One local Spark context for the whole test JVM (starting one costs seconds). local[2,2]: two
 * task slots, and two attempts per task so retries can be tested in local mode.
 */
public final class SharedSpark {

    private static JavaSparkContext context;

    private SharedSpark() {}

    public static synchronized JavaSparkContext context() {
        if (context == null) {
            SparkConf conf = new SparkConf().setMaster("local[2,2]").setAppName("lolcats4j-spark tests")
                    .set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1")
                    .set("spark.speculation", "false");
            context = new JavaSparkContext(conf);
            context.setLogLevel("WARN");
            JavaSparkContext started = context;
            Runtime.getRuntime().addShutdownHook(new Thread(started::stop));
        }
        return context;
    }
}
