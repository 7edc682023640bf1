package io.hicache.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class ScopesTest {
    @Test
    void intermediatesAreFreedAndTheResultStays() {
        try (NDManager home = NDManager.newBaseManager()) {
            NDArray x = home.ones(new Shape(4));
            NDArray[] seen = new NDArray[1];
            NDArray y = Scopes.apply(x, in -> {
                seen[0] = in.mul(2); // an intermediate
                return seen[0].add(1);
            });
            assertTrue(seen[0].isReleased(), "intermediate freed");
            assertFalse(x.isReleased(), "input kept");
            assertSame(home, x.getManager(), "input back home");
            assertSame(home, y.getManager());
            assertEquals(3f, y.toFloatArray()[0]);
            assertEquals(2, home.getManagedArrays().size());

            NDArray z = Scopes.step(y, in -> in.mul(2));
            assertTrue(y.isReleased(), "step closes the previous activation");
            assertEquals(6f, z.toFloatArray()[0]);
            assertEquals(2, home.getManagedArrays().size());
        }
    }
}
