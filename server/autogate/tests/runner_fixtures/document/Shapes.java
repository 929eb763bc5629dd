package shapes;

import java.util.List;

public class Shapes {
    private final List<Double> areas;

    public Shapes(List<Double> areas) {
        this.areas = areas;
    }

    /** Sum of the areas. */
    public double total() {
        return areas.stream().mapToDouble(Double::doubleValue).sum();
    }

    @Override
    public String toString() {
        return "Shapes" + areas;
    }

    private int count() {
        return areas.size();
    }

    public enum Kind {
        CIRCLE,
        SQUARE;

        public boolean round() {
            return this == CIRCLE;
        }
    }

    static class Helper {
        public void help() {}
    }
}
