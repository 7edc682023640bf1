package io.hicache.cli;

import java.text.DecimalFormat;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports finished images: a progress bar (images done/total, images per second, ETA) when
 * stderr is a terminal, and one log line per image, which is what batch-system logs keep (with
 * rate and ETA in the line when there is no bar).
 */
final class Progress implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("io.hicache.cli.images");

    private final int total;
    private final int alreadyDone;
    private final ProgressBar bar;
    private final long startNanos = System.nanoTime();
    private int finished;
    private int failed;

    /**
     * @param total images of this run, done or not
     * @param alreadyDone images a previous run made
     * @param showBar draw a bar on stderr
     */
    Progress(int total, int alreadyDone, boolean showBar) {
        this.total = total;
        this.alreadyDone = alreadyDone;
        this.bar = showBar ? ProgressBar.builder()
                .setTaskName("generating")
                .setInitialMax(total)
                .startsFrom(alreadyDone, Duration.ZERO)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUnit(" img", 1)
                .showSpeed(new DecimalFormat("0.00"))
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build() : null;
    }

    /** Whether a bar should be drawn: stderr is a terminal and the user did not ask for quiet. */
    static boolean wanted(Logging.Verbosity verbosity) {
        return System.console() != null && verbosity != Logging.Verbosity.QUIET;
    }

    synchronized void finished(ManifestEntry entry) {
        finished++;
        int done = alreadyDone + finished;
        if (!entry.ok()) {
            failed++;
            LOG.warn("{} failed on {}: {}", "img_" + entry.index(), entry.worker() == null ? "no worker" : entry.worker(),
                    entry.error());
        } else {
            LOG.info("img_{} ok in {} s on {} [{}/{}{}]", entry.index(), String.format(Locale.ROOT, "%.1f", entry.seconds()),
                    entry.worker(), done, total, bar == null ? rateAndEta(done) : "");
        }
        if (bar != null) {
            bar.step();
            bar.setExtraMessage(failed == 0 ? "" : " · " + failed + " failed");
        }
    }

    private String rateAndEta(int done) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        double perSecond = finished / Math.max(seconds, 1e-9);
        long etaSeconds = Math.round((total - done) / perSecond);
        return String.format(Locale.ROOT, ", %.2f img/min, ETA %d:%02d:%02d", perSecond * 60, etaSeconds / 3600,
                etaSeconds / 60 % 60, etaSeconds % 60);
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
