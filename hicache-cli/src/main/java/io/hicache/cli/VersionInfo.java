package io.hicache.cli;

import io.hicache.core.HiCacheVersion;
import io.hicache.core.runtime.HiCacheRuntime;
import picocli.CommandLine;

/** {@code --version}: project, DJL and PyTorch versions and the devices the engine sees. */
final class VersionInfo implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String java = "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")";
        HiCacheRuntime.RuntimeInfo info;
        try {
            info = HiCacheRuntime.info();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            // e.g. a jar without libtorch, offline: say so instead of a stack trace
            return new String[] {"hicache " + HiCacheVersion.get(),
                "PyTorch engine unavailable: " + Errors.oneLine(e) + " (see docs/gpu.md)", java};
        }
        return new String[] {
            "hicache " + HiCacheVersion.get(),
            "DJL " + info.djlVersion + ", " + info.engine + " " + info.engineVersion
                    + (info.offline ? " (offline)" : ""),
            "devices: " + String.join(", ", info.devices)
                    + " (" + info.gpuCount + " GPU(s), " + info.cpuCores + " CPU cores)",
            java
        };
    }
}
