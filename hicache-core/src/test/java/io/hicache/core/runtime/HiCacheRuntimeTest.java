package io.hicache.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

class HiCacheRuntimeTest {
    @Test
    void offlinePropertiesAreSetBeforeTheEngineStarts() {
        HiCacheRuntime.bootstrap();
        assertEquals("true", System.getProperty("ai.djl.offline"));
        assertEquals("true", System.getProperty("OPT_OUT_TRACKING"));
        HiCacheRuntime.RuntimeInfo info = HiCacheRuntime.info();
        assertEquals("PyTorch", info.engine);
        assertEquals("2.7.1", info.engineVersion);
        assertEquals("0.36.0", info.djlVersion);
        assertTrue(info.devices.contains("cpu"));
        assertTrue(info.offline);
    }

    @Test
    void threadsCannotChangeAfterStart() {
        HiCacheRuntime.bootstrap();
        assertThrows(IllegalStateException.class, () -> HiCacheRuntime.configureThreads(2, 1));
    }

    @Test
    void resolvesDeviceLists() {
        assertEquals(List.of(Device.cpu()), HiCacheRuntime.resolveDevices("cpu", 0));
        assertEquals(List.of(Device.cpu()), HiCacheRuntime.resolveDevices(" CPU ", 4));
        assertEquals(List.of(Device.gpu(0)), HiCacheRuntime.resolveDevices("0", 1));
        assertEquals(List.of(Device.gpu(1), Device.gpu(0)), HiCacheRuntime.resolveDevices("1, 0", 2));
        assertEquals(List.of(Device.gpu(2)), HiCacheRuntime.resolveDevices("cuda:2", 3));
        assertEquals(List.of(Device.gpu(3)), HiCacheRuntime.resolveDevices("gpu3", 4));
    }

    @Test
    void rejectsBadDeviceListsWithActionableMessages() {
        assertMessage("0", 0, "no GPU is visible");
        assertMessage("2", 2, "only 2 GPU(s) are visible");
        assertMessage("0,0", 2, "listed twice");
        assertMessage("a", 2, "invalid device 'a'");
        assertMessage("-1", 2, "invalid device '-1'");
        assertMessage("0,", 2, "invalid device ''");
        assertMessage("", 2, "empty device list");
        assertMessage("99999999999", 2, "invalid GPU index");
    }

    private static void assertMessage(String spec, int gpus, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HiCacheRuntime.resolveDevices(spec, gpus));
        assertTrue(e.getMessage().contains(part), spec + " → " + e.getMessage());
    }

    @Test
    void parsesComputeTypes() {
        assertEquals(TensorType.F32, TensorType.parseCompute("float32"));
        assertEquals(TensorType.BF16, TensorType.parseCompute("BF16"));
        assertThrows(IllegalArgumentException.class, () -> TensorType.parseCompute("float16"));
    }
}
