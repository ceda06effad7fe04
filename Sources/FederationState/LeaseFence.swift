import Synchronization

/// The fencing token of the health leader: `holder#epoch#nonce`, where `epoch` comes from
/// `INCR {ns}:health-leader-epoch` at each acquisition of the lease and `nonce` is random (so a
/// token is never reused, even when Redis restarted empty and the epoch counts from 1 again).
/// The lease key holds the token of its holder.
public struct LeaseToken: Sendable, Equatable, CustomStringConvertible {
    /// The instance id of the holder.
    public var holder: String
    /// The acquisition's epoch (0 when the lease value has no epoch, e.g. written by hand).
    public var epoch: Int64
    /// The whole token as stored in the lease key.
    public var description: String

    /// A token for a new acquisition.
    public init(holder: String, epoch: Int64, nonce: String) {
        self.holder = holder
        self.epoch = epoch
        description = "\(holder)#\(epoch)#\(nonce)"
    }

    /// Reads a lease value; a value without the two `#` parts is a holder with epoch 0.
    public init(parsing text: String) {
        description = text
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        if parts.count >= 3, let epoch = Int64(parts[parts.count - 2]) {
            holder = parts.dropLast(2).joined(separator: "#")
            self.epoch = epoch
        } else {
            holder = text
            epoch = 0
        }
    }
}

/// The token a health writer currently holds the leader lease with, shared between the lease
/// loop (which sets it on acquisition and clears it when the lease is lost) and the
/// ``RedisHealthStore`` (whose write scripts refuse to write unless the lease key holds it).
/// While no token is held, writes are refused without asking Redis.
public final class LeaseFence: Sendable {
    /// The lease key the scripts check.
    public let leaseKey: String
    private let token = Mutex<LeaseToken?>(nil)

    /// A fence on `leaseKey`, holding no token.
    public init(leaseKey: String) {
        self.leaseKey = leaseKey
    }

    /// The token writes are made with (nil: this instance must not write).
    public var current: LeaseToken? { token.withLock { $0 } }

    /// Sets (acquired) or clears (lost) the token.
    public func set(_ new: LeaseToken?) { token.withLock { $0 = new } }

    /// Clears the token only when it is still `old` (a newer acquisition is kept).
    public func clear(ifStill old: LeaseToken) {
        token.withLock { if $0 == old { $0 = nil } }
    }
}

/// A health write was refused because this instance does not hold the leader lease (any more):
/// the lease key holds another token, or none. The writer stops writing and stands by until
/// the lease loop proves the lease held again.
public struct LeadershipLost: Error, Sendable, Equatable, CustomStringConvertible {
    /// What Redis (or the fence) said.
    public var detail: String
    /// The token the refused write was made with (nil: none was held).
    public var token: LeaseToken?
    public init(detail: String, token: LeaseToken? = nil) {
        self.detail = detail
        self.token = token
    }
    public var description: String { "health write refused, the leader lease is not held: \(detail)" }
}
