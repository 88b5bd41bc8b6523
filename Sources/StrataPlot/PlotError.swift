/// Everything that can stop a figure from becoming a PNG.
public enum PlotError: Error, Equatable, Sendable {
    /// The figure has no panels, so there is nothing to draw.
    case noPanels
    /// The requested image size is outside `1...RGBImage.maximumSide` on some side.
    case invalidSize(width: Int, height: Int)
    /// `Figure.textScale` is set to something other than 1 or 2.
    case invalidTextScale(Int)
    /// The image is too small for the panels' titles, legends and axes to leave a plot area of at least
    /// `minimumPlotSide` pixels on each side.
    case tooSmall(width: Int, height: Int, minimumPlotSide: Int)
    /// zlib's `compress2` returned `code` instead of `Z_OK`.
    case compressionFailed(code: Int32)
    /// The PNG could not be written to `path`.
    case writeFailed(path: String, reason: String)
}
