require "openssl"

# Users with a password hashed with PBKDF2-HMAC-SHA256 (OpenSSL; bcrypt is not
# among Debian's Rails packages).
class User < ApplicationRecord
  ITERATIONS = 50_000

  has_many :posts, dependent: :destroy
  has_many :comments, dependent: :destroy
  validates :name, presence: true, uniqueness: true, length: { maximum: 50 }

  attr_reader :password

  def password=(password)
    @password = password
    salt = SecureRandom.hex(16)
    self.password_digest = "pbkdf2-sha256$#{ITERATIONS}$#{salt}$#{self.class.hash_password(password, salt, ITERATIONS)}"
  end

  def authenticate(password)
    _, iterations, salt, hash = password_digest.to_s.split("$")
    return false unless hash

    ActiveSupport::SecurityUtils.secure_compare(self.class.hash_password(password.to_s, salt, iterations.to_i), hash)
  end

  def self.hash_password(password, salt, iterations)
    OpenSSL::KDF.pbkdf2_hmac(password, salt: salt, iterations: iterations, length: 32, hash: "sha256").unpack1("H*")
  end
end
