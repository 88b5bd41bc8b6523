import Foundation

/// Linear warm-up to the peak rate, then cosine decay to a floor (reference: the schedule of
/// Hugging Face's `get_cosine_schedule_with_warmup`, with a floor instead of zero).
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// The rate at the end of warm-up.
    public var peak: Double
    /// The rate the decay ends at (and stays at afterwards).
    public var floor: Double
    /// Steps of linear warm-up.
    public var warmupSteps: Int
    /// The step at which the decay reaches `floor`.
    public var totalSteps: Int

    /// A schedule (see ``rate(at:)``).
    public init(peak: Double, floor: Double, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate for optimizer step `step` (0-based): peak·(step+1)/warmup during warm-up, then
    /// floor + (peak − floor)·(1 + cos(π·progress))/2 with progress running 0…1 until `totalSteps`.
    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let span = totalSteps - warmupSteps
        guard span > 0 else { return peak }
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
