package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineChartTest {

    @Test
    void longLegendLabelsAreNotCutAtTheImageEdge(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("chart.png");
        new LineChart("t", "x", "y").yRange(0, 1)
                .add("linearized + sparse cache C = 256 (a long legend label)", new double[] {1, 2}, new double[] {0.2, 0.8})
                .write(png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(800, image.getWidth());
        // The legend's text sits at the right; a label cut by the edge leaves ink in the last columns.
        int inkInLegend = 0;
        for (int x = image.getWidth() - 400; x < image.getWidth(); x++) {
            for (int y = 50; y < 90; y++) {
                boolean ink = (image.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF;
                if (ink) {
                    inkInLegend++;
                    assertTrue(x < image.getWidth() - 4, "legend text reaches the image edge at x = " + x);
                }
            }
        }
        assertTrue(inkInLegend > 50, "the legend was drawn: " + inkInLegend + " ink pixels");
    }
}
