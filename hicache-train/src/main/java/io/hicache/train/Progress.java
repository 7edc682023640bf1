package io.hicache.train;

import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A console progress bar for one phase, with the recent loss in its message. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    Progress(String phase, int done, int total, long parameters) {
        String name = parameters > 0 ? String.format(Locale.ROOT, "%s (%.2f M params)", phase, parameters / 1e6) : phase;
        bar = new ProgressBarBuilder().setTaskName(name).setInitialMax(total).startsFrom(done, Duration.ZERO)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(2000).continuousUpdate().build();
    }

    void step(int done, double loss) {
        bar.stepTo(done);
        if (!Double.isNaN(loss)) {
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
        }
    }

    @Override
    public void close() {
        bar.close();
    }
}
