import Crypto
import Foundation

/// Lower-case hex SHA-256 of some bytes (swift-crypto): the fingerprints that tie a passport file to
/// the checkpoints trained with it.
public func sha256Hex<D: DataProtocol>(_ data: D) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
