ActiveRecord::Schema.define(version: 1) do
  create_table "users", force: :cascade do |t|
    t.string "name", null: false
    t.string "password_digest", null: false
    t.boolean "active", null: false, default: true
    t.timestamps
    t.index ["name"], unique: true
  end

  create_table "posts", force: :cascade do |t|
    t.string "title", null: false
    t.text "body", null: false
    t.references "user", null: false, foreign_key: true
    t.timestamps
  end

  create_table "comments", force: :cascade do |t|
    t.references "post", null: false, foreign_key: true
    t.references "user", null: false, foreign_key: true
    t.references "parent", foreign_key: { to_table: :comments }
    t.text "text", null: false
    t.timestamps
  end
end
