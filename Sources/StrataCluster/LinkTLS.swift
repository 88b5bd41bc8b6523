import Foundation
import NIOSSL

/// TLS for the links between coordinator and workers and between stages. The shared-secret
/// handshake still runs inside the TLS session: TLS keeps the traffic private and proves the
/// worker's certificate; the secret proves the coordinator.
public enum LinkTLS {
    /// A listener's certificate chain and private key (PEM files): a worker's, or the HTTP API's.
    public static func server(certificate: String, key: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ClusterError.notReady("cannot use the TLS certificate \(certificate) with key \(key): \(error)")
        }
        guard !chain.isEmpty else { throw ClusterError.notReady("\(certificate) holds no certificate") }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
    }

    /// The connecting side (coordinator, or a stage dialling its next hop): it trusts the
    /// certificates in `trust` (a PEM file: a private CA, or the workers' own certificate) and
    /// checks the worker's name or address against them.
    public static func client(trust: String) throws -> TLSConfiguration {
        guard FileManager.default.isReadableFile(atPath: trust) else { throw ClusterError.notReady("cannot read the TLS trust file \(trust)") }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(trust)
        return configuration
    }

    /// The name to verify for `host`: nil for an IP address (then its address is checked).
    static func serverHostname(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return nil }
        return host
    }
}
