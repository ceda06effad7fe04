/// What the operator chose: the tab and each tab's scroll position. Pure; keys change it.
public struct UIState: Sendable, Equatable {
    public enum Tab: Int, Sendable, CaseIterable {
        case catalog = 1, health, routing, circuits, stats, policies, help

        public var title: String {
            switch self {
            case .catalog: return "Catalog"
            case .health: return "Health"
            case .routing: return "Routing"
            case .circuits: return "Circuits"
            case .stats: return "Stats"
            case .policies: return "Policies"
            case .help: return "Help"
            }
        }

        /// The key that selects it.
        public var key: String { self == .help ? "?" : String(rawValue) }
    }

    public var tab: Tab
    /// First list row shown, per tab.
    public var scroll: [Tab: Int]

    public init(tab: Tab = .catalog, scroll: [Tab: Int] = [:]) {
        self.tab = tab
        self.scroll = scroll
    }

    public var offset: Int { scroll[tab] ?? 0 }

    /// What `key` does; returns false when the program should end (`q`, Ctrl-C).
    /// `page` is how many rows a page-down moves.
    public mutating func apply(_ key: TopKey, page: Int = 10) -> Bool {
        switch key {
        case .tab(let number): tab = Tab(rawValue: number) ?? tab
        case .help: tab = tab == .help ? .catalog : .help
        case .nextTab: tab = Tab(rawValue: tab.rawValue % Tab.allCases.count + 1) ?? .catalog
        case .previousTab:
            tab = Tab(rawValue: (tab.rawValue + Tab.allCases.count - 2) % Tab.allCases.count + 1) ?? .catalog
        case .down: scroll[tab] = offset + 1
        case .up: scroll[tab] = max(0, offset - 1)
        case .pageDown: scroll[tab] = offset + max(1, page)
        case .pageUp: scroll[tab] = max(0, offset - max(1, page))
        case .quit, .interrupt: return false
        }
        return true
    }

    /// Keeps every tab's offset within `0...maximum(tab)` (after the content changed or shrank).
    public mutating func clamp(_ maximum: (Tab) -> Int) {
        for (tab, value) in scroll {
            scroll[tab] = max(0, min(value, maximum(tab)))
        }
    }
}
