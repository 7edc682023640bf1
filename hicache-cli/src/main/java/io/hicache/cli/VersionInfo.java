package io.hicache.cli;

import io.hicache.core.HiCacheVersion;
import io.hicache.core.runtime.HiCacheRuntime;
import picocli.CommandLine;

/** {@code --version}: project, DJL and PyTorch versions and the devices the engine sees. */
final class VersionInfo implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        HiCacheRuntime.RuntimeInfo info = HiCacheRuntime.info();
        return new String[] {
            "hicache " + HiCacheVersion.get(),
            "DJL " + info.djlVersion + ", " + info.engine + " " + info.engineVersion
                    + (info.offline ? " (offline)" : ""),
            "devices: " + String.join(", ", info.devices)
                    + " (" + info.gpuCount + " GPU(s), " + info.cpuCores + " CPU cores)",
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"
        };
    }
}
